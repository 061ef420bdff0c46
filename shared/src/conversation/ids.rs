//! Who a conversation is with: the channel, the customer's endpoint on it, and the
//! conversation id derived from them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// A messaging channel asyncdesk speaks. Its behaviour lives in `channels/<name>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Whatsapp,
    Telegram,
    Email,
    /// The website chat (the widget).
    Web,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Whatsapp,
        Channel::Telegram,
        Channel::Email,
        Channel::Web,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Telegram => "telegram",
            Channel::Email => "email",
            Channel::Web => "web",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Short prefix of conversation ids.
    fn id_prefix(self) -> &'static str {
        match self {
            Channel::Whatsapp => "wa",
            Channel::Telegram => "tg",
            Channel::Email => "em",
            Channel::Web => "wb",
        }
    }

    fn from_id_prefix(prefix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id_prefix() == prefix)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The customer side of a conversation on one channel: who to write back to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub channel: Channel,
    /// The business account on the channel (WhatsApp: phone_number_id; Telegram: the
    /// bot's id; email: our support address).
    pub business_id: String,
    /// The customer on the channel (WhatsApp: wa_id or BSUID; Telegram: the chat id;
    /// email: the address replies go to, lower-case).
    pub customer_id: String,
}

/// Version tag of the conversation id scheme, part of the digest's input.
const ID_SCHEME: &[u8] = b"asyncdesk/conversation/v2";
/// Hex characters of the digest in an id (128 bits).
const ID_DIGEST_HEX: usize = 32;

impl Endpoint {
    /// The conversation id for this customer and business account: the channel's
    /// prefix and a digest of the parts, so it is derived from an inbound message
    /// alone (a returning customer lands in the same conversation), cannot be read two
    /// ways, and carries no phone number, chat id or address into URLs and logs.
    ///
    /// On channels where a customer has one conversation per business account
    /// (WhatsApp, Telegram) this is the conversation; email starts one per thread
    /// ([`Endpoint::thread_id`]), and this id then names the customer (auto-reply
    /// caps are counted per customer).
    pub fn conversation_id(&self) -> ConversationId {
        self.digest(&[])
    }

    /// The id of a conversation that is one thread of this customer's (email): the
    /// endpoint and the thread's first message id.
    pub fn thread_id(&self, thread_root: &str) -> ConversationId {
        self.digest(&[thread_root])
    }

    fn digest(&self, extra: &[&str]) -> ConversationId {
        let mut h = Sha256::new();
        h.update(ID_SCHEME);
        let parts = [
            self.channel.as_str(),
            self.business_id.as_str(),
            self.customer_id.as_str(),
        ];
        for part in parts.iter().chain(extra) {
            // Length-prefixed, so ("ab","c") and ("a","bc") never collide.
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        let digest = hex::encode(h.finalize());
        ConversationId(format!(
            "{}-{}",
            self.channel.id_prefix(),
            &digest[..ID_DIGEST_HEX]
        ))
    }
}

/// Identifies one conversation: `<channel prefix>-<32 hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConversationId(String);

impl ConversationId {
    /// Parses and validates an id from untrusted input (a URL path segment).
    pub fn parse(s: &str) -> Option<Self> {
        let (prefix, digest) = s.split_once('-')?;
        Channel::from_id_prefix(prefix)?;
        (digest.len() == ID_DIGEST_HEX
            && digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| ConversationId(s.to_string()))
    }

    /// The channel the id belongs to.
    pub fn channel(&self) -> Channel {
        self.0
            .split_once('-')
            .and_then(|(p, _)| Channel::from_id_prefix(p))
            .expect("ids are built or parsed valid")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest part (after the channel prefix).
    pub fn digest(&self) -> &str {
        self.0.split_once('-').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(channel: Channel, b: &str, c: &str) -> Endpoint {
        Endpoint {
            channel,
            business_id: b.into(),
            customer_id: c.into(),
        }
    }

    #[test]
    fn conversation_ids_are_digests_that_round_trip() {
        let id = ep(Channel::Whatsapp, "106540352242922", "16505551234").conversation_id();
        // The example in docs/data-model.md.
        assert_eq!(id.as_str(), "wa-c5f3f83c27df8dca6b87267d9a591bcd");
        assert!(!id.as_str().contains("16505551234"));
        assert_eq!(id.as_str().len(), 3 + 32);
        assert_eq!(ConversationId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.channel(), Channel::Whatsapp);
        let tg = ep(Channel::Telegram, "1", "-1001293752024").conversation_id();
        assert!(tg.as_str().starts_with("tg-"));
        assert_eq!(tg.channel(), Channel::Telegram);
        // Unambiguous: the parts are length-prefixed.
        assert_ne!(
            ep(Channel::Whatsapp, "1.2", "3").conversation_id(),
            ep(Channel::Whatsapp, "1", "2.3").conversation_id()
        );
        assert_ne!(
            ep(Channel::Whatsapp, "1", "2").conversation_id(),
            ep(Channel::Telegram, "1", "2").conversation_id()
        );
        for bad in [
            "",
            "wa",
            "wa-",
            "xx-0123456789abcdef0123456789abcdef",
            "wa-0123456789ABCDEF0123456789ABCDEF",
            "wa-0123456789abcdef0123456789abcde",
            "wa.1.2",
            "wa-0123456789abcdef0123456789abcdef/x",
        ] {
            assert_eq!(ConversationId::parse(bad), None, "{bad}");
        }
    }
}
