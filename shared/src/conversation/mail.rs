//! What the model keeps of an email beyond its text, and what a channel reported
//! about who sent a message (the loop guard's input).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a channel reported about a message's sender that tells a person from a
/// machine. The loop guard (`loop_guard`) reads it; channels only fill it in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The sender is a bot account (Telegram `is_bot`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bot: bool,
    /// Sent in a group chat.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub group: bool,
    /// Email: the header fields the loop guard reads, name (lower-case) and value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// Email: the sender address (From).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Email: the envelope sender (SMTP MAIL FROM); empty for the null sender `<>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_sender: Option<String>,
    /// Email: the top-level content type, lower-case (`multipart/report; ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Email: the receiving service's spam or virus verdict that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
}

impl Origin {
    pub fn is_empty(&self) -> bool {
        *self == Origin::default()
    }

    /// The value of header `name` (lower-case), if the channel reported it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An email's own parts beyond its text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailMeta {
    pub subject: Option<String>,
    /// Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To, without angle brackets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_reply_to: Vec<String>,
    /// References, without angle brackets, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// The quoted history below the customer's new text (the message's text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<String>,
    /// The Date header's offset from UTC, in minutes (the customer's own time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset_minutes: Option<i32>,
    /// Where the complete source is kept (`s3://bucket/key`) when the mail came
    /// through S3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The text or quoted history was cut to fit the item; the source has it all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The receiving service's authentication verdicts and what they authenticate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<MailAuth>,
    /// Where a person's answer goes: the mail's Reply-To, else its From (lower-case).
    /// Agents' replies may go there; auto-replies go only to the authenticated sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_address: Option<String>,
}

/// What the receiving service (SES) found when it checked who sent a mail, and the
/// address that this authenticates. Only these verdicts decide who someone is: the
/// headers of a mail are the sender's own words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailAuth {
    /// `PASS`, `FAIL`, `GRAY`, `PROCESSING_FAILED` (SES `spfVerdict.status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spf: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dkim: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dmarc: Option<String>,
    /// What authenticates the sender: `dmarc` or `dkim` (aligned with From's domain)
    /// authenticate From; `spf` authenticates the envelope sender. `None`: nothing
    /// does, and the mail is `unverified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// The digest under which an address takes part in a thread (conversations keep
/// these, never the addresses, in `participants`).
pub fn address_digest(address: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"asyncdesk/participant/v1\0");
    h.update(address.trim().to_ascii_lowercase().as_bytes());
    hex::encode(&h.finalize()[..16])
}

impl MailMeta {
    /// References for a reply to this mail (RFC 5322 3.6.4): its References, else
    /// its In-Reply-To when that is a single id, then its Message-ID.
    pub fn reply_references(&self) -> Vec<String> {
        let mut refs = if !self.references.is_empty() {
            self.references.clone()
        } else if self.in_reply_to.len() == 1 {
            self.in_reply_to.clone()
        } else {
            Vec::new()
        };
        refs.extend(self.message_id.clone());
        refs
    }
}

/// How a log line names a message or provider id: a short digest, since channel ids
/// can carry personal data (a WhatsApp `wamid` embeds the phone number, a Telegram id
/// the chat id, a Message-ID often an address).
pub fn log_id(id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"asyncdesk/log/v1\0");
    h.update(id.as_bytes());
    hex::encode(&h.finalize()[..6])
}
