//! The conversation model: one conversation per customer per business number, and the
//! messages in it. Channel-independent; channel modules translate into these types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A messaging channel asyncdesk speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Whatsapp,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
        }
    }

    /// Short prefix used in conversation ids.
    fn id_prefix(self) -> &'static str {
        match self {
            Channel::Whatsapp => "wa",
        }
    }

    fn from_id_prefix(prefix: &str) -> Option<Self> {
        match prefix {
            "wa" => Some(Channel::Whatsapp),
            _ => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a conversation stands from the agents' point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// The customer wrote last and is waiting for an agent.
    Open,
    /// An agent answered; waiting for the customer.
    Pending,
    /// Closed by an agent; reopens when the customer writes again.
    Resolved,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Pending => "pending",
            ConversationStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "pending" => Some(Self::Pending),
            "resolved" => Some(Self::Resolved),
            _ => None,
        }
    }
}

/// The customer side of a conversation on one channel: who to write back to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub channel: Channel,
    /// The business account on the channel (WhatsApp: phone_number_id).
    pub business_id: String,
    /// The customer on the channel (WhatsApp: wa_id).
    pub customer_id: String,
}

impl Endpoint {
    /// The conversation id for this customer and business number. Deterministic, so a
    /// returning customer lands in the same conversation; URL-safe.
    pub fn conversation_id(&self) -> ConversationId {
        ConversationId(format!(
            "{}.{}.{}",
            self.channel.id_prefix(),
            self.business_id,
            self.customer_id
        ))
    }
}

/// Identifies one conversation: `<channel>.<business_id>.<customer_id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConversationId(String);

impl ConversationId {
    /// Parses and validates an id from untrusted input (a URL path segment).
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.splitn(3, '.');
        let channel = Channel::from_id_prefix(parts.next()?)?;
        let business = parts.next()?;
        let customer = parts.next()?;
        let safe = |p: &str, extra: &[u8]| {
            !p.is_empty()
                && p.len() <= 128
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_+".contains(&b) || extra.contains(&b))
        };
        // The customer part comes last, so it may contain dots (WhatsApp BSUIDs do).
        (safe(business, b"") && safe(customer, b".")).then(|| {
            Endpoint {
                channel,
                business_id: business.to_string(),
                customer_id: customer.to_string(),
            }
            .conversation_id()
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A conversation as agents see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    #[serde(flatten)]
    pub endpoint: Endpoint,
    pub customer_name: Option<String>,
    pub status: ConversationStatus,
    /// When the customer started waiting (first unanswered inbound message); set only
    /// while the conversation is open.
    pub waiting_since: Option<DateTime<Utc>>,
    /// When the conversation entered its current status.
    pub status_since: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    pub message_count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// What a message is. Inbound kinds follow the channel's types; outbound messages are
/// `text` (written by an agent) or `auto_reply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Image,
    Video,
    Audio,
    Document,
    Sticker,
    Location,
    Contacts,
    Interactive,
    Button,
    Reaction,
    /// A type this version does not understand; the payload is kept in `raw`.
    Unknown,
    /// A channel notice (e.g. the customer changed their number); kept in `raw`.
    System,
    AutoReply,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::Video => "video",
            MessageKind::Audio => "audio",
            MessageKind::Document => "document",
            MessageKind::Sticker => "sticker",
            MessageKind::Location => "location",
            MessageKind::Contacts => "contacts",
            MessageKind::Interactive => "interactive",
            MessageKind::Button => "button",
            MessageKind::Reaction => "reaction",
            MessageKind::Unknown => "unknown",
            MessageKind::System => "system",
            MessageKind::AutoReply => "auto_reply",
        }
    }

    /// Whether a message of this kind asks for a human answer (and so may get an
    /// off-hours auto-reply). Reactions and channel notices never do.
    pub fn wants_answer(self) -> bool {
        !matches!(
            self,
            MessageKind::Reaction | MessageKind::System | MessageKind::AutoReply
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub filename: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The message reacted to.
    pub message_id: String,
    /// The emoji; `None` when the customer removed the reaction.
    pub emoji: Option<String>,
}

/// A reply chosen from buttons or a list, or a quick-reply button press.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: Option<String>,
    pub title: String,
    pub description: Option<String>,
}

/// Delivery state of an outbound message, as reported by the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Stored, being handed to the channel. A message left in this state was most
    /// likely sent, but its final state could not be recorded.
    Sending,
    /// Sent, but the channel never confirmed it (timeout): may or may not have arrived.
    Unconfirmed,
    Accepted,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Sending => "sending",
            DeliveryState::Unconfirmed => "unconfirmed",
            DeliveryState::Accepted => "accepted",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Read => "read",
            DeliveryState::Failed => "failed",
        }
    }

    /// Order in which states may replace each other: a late "delivered" never
    /// overwrites "read"; "failed" is final.
    pub fn rank(self) -> u8 {
        match self {
            DeliveryState::Sending | DeliveryState::Unconfirmed | DeliveryState::Accepted => 0,
            DeliveryState::Sent => 1,
            DeliveryState::Delivered => 2,
            DeliveryState::Read => 3,
            DeliveryState::Failed => 9,
        }
    }
}

/// An error reported by a channel (a failed delivery or a rejected send).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderError {
    pub code: Option<i64>,
    pub title: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub state: DeliveryState,
    pub at: DateTime<Utc>,
    pub error: Option<ProviderError>,
}

/// One message of a conversation, in either direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Unique within the conversation. Inbound: the channel's message id. Outbound: ours.
    pub id: String,
    pub conversation_id: ConversationId,
    #[serde(flatten)]
    pub endpoint: Endpoint,
    pub direction: Direction,
    pub kind: MessageKind,
    /// When the message was sent: the platform's timestamp for inbound messages.
    pub sent_at: DateTime<Utc>,
    /// When asyncdesk stored it.
    pub stored_at: DateTime<Utc>,
    /// Text body, media caption or chosen option's title.
    pub text: Option<String>,
    pub media: Option<Media>,
    pub location: Option<Location>,
    pub reaction: Option<Reaction>,
    pub choice: Option<Choice>,
    /// The message this one replies to (channel message id).
    pub reply_to: Option<String>,
    /// The channel's id for this message (outbound: returned by the send API).
    pub provider_message_id: Option<String>,
    /// The original JSON, kept for types asyncdesk does not model (and contacts).
    pub raw: Option<String>,
    /// Who wrote an outbound message: the agent id, or "asyncdesk" for auto-replies.
    pub author: Option<String>,
    pub delivery: Option<Delivery>,
}

impl Message {
    /// A new outbound text message to `endpoint`, with a fresh id.
    pub fn outbound(
        endpoint: &Endpoint,
        kind: MessageKind,
        text: &str,
        author: &str,
        at: DateTime<Utc>,
    ) -> Self {
        Message {
            id: format!("out-{}", uuid::Uuid::new_v4().simple()),
            conversation_id: endpoint.conversation_id(),
            endpoint: endpoint.clone(),
            direction: Direction::Outbound,
            kind,
            sent_at: at,
            stored_at: at,
            text: Some(text.to_string()),
            media: None,
            location: None,
            reaction: None,
            choice: None,
            reply_to: None,
            provider_message_id: None,
            raw: None,
            author: Some(author.to_string()),
            delivery: None,
        }
    }

    /// Marks the message as being handed to the channel.
    pub fn sending(mut self) -> Self {
        self.delivery = Some(Delivery {
            state: DeliveryState::Sending,
            at: self.sent_at,
            error: None,
        });
        self
    }

    /// Records the channel's answer to sending this message.
    pub fn with_send_result(
        mut self,
        result: &Result<crate::channels::SentMessage, crate::channels::SendError>,
    ) -> Self {
        match result {
            Ok(sent) => {
                self.provider_message_id = Some(sent.provider_message_id.clone());
                self.delivery = Some(Delivery {
                    state: DeliveryState::Accepted,
                    at: self.sent_at,
                    error: None,
                });
            }
            Err(e) => {
                let state = match e {
                    crate::channels::SendError::Unconfirmed(_) => DeliveryState::Unconfirmed,
                    _ => DeliveryState::Failed,
                };
                self.delivery = Some(Delivery {
                    state,
                    at: self.sent_at,
                    error: Some(e.provider_error()),
                });
            }
        }
        self
    }
}

/// An inbound message together with what the channel told us about the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub message: Message,
    pub customer_name: Option<String>,
    /// The key under which a redelivery of this message is recognised.
    pub dedupe_key: String,
}

/// A delivery status reported for an outbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub channel: Channel,
    pub provider_message_id: String,
    pub state: DeliveryState,
    pub at: DateTime<Utc>,
    pub error: Option<ProviderError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_id_round_trips_and_rejects_junk() {
        let ep = Endpoint {
            channel: Channel::Whatsapp,
            business_id: "106540352242922".into(),
            customer_id: "16505551234".into(),
        };
        let id = ep.conversation_id();
        assert_eq!(id.as_str(), "wa.106540352242922.16505551234");
        assert_eq!(ConversationId::parse(id.as_str()), Some(id));
        assert!(ConversationId::parse("wa.1.US.13491208655302741918").is_some());
        for bad in ["", "wa", "wa.1", "xx.1.2", "wa..2", "wa.1.2/3", "wa.1.#"] {
            assert_eq!(ConversationId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn delivery_states_only_move_forward() {
        assert!(DeliveryState::Read.rank() > DeliveryState::Delivered.rank());
        assert!(DeliveryState::Failed.rank() > DeliveryState::Read.rank());
    }
}
