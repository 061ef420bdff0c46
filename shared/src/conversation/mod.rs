//! The conversation model: one conversation per customer per business account on a
//! channel, and the messages in it. It imports nothing from `channels/`: channel
//! modules translate their payloads into these types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod attachment;
mod ids;
mod mail;
mod message;
pub use attachment::{Attachment, MediaKind, MediaState};
pub use ids::{Channel, ConversationId, Endpoint};
pub use mail::{MailAuth, MailMeta, Origin, address_digest, log_id};
pub use message::{
    FLOOD_PER_MINUTE, InboundMessage, Message, MessageEdit, Rejection, Sender, StatusUpdate,
};

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
    /// Put aside by an agent until `snooze_until` (or the customer writes).
    Snoozed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Pending => "pending",
            ConversationStatus::Resolved => "resolved",
            ConversationStatus::Snoozed => "snoozed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "pending" => Some(Self::Pending),
            "resolved" => Some(Self::Resolved),
            "snoozed" => Some(Self::Snoozed),
            _ => None,
        }
    }
}

/// How urgent a conversation is: urgent ones sort first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Normal,
    Urgent,
}

/// What the channel told us about the customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerProfile {
    /// Display name (WhatsApp profile name; Telegram first + last name).
    pub name: Option<String>,
    /// Telegram @username.
    pub username: Option<String>,
    /// IETF language tag the channel reported (Telegram `language_code`, email
    /// Content-Language).
    pub language: Option<String>,
    /// Email: where a person's answer goes (Reply-To, else From).
    pub reply_address: Option<String>,
    /// Web: the address a visitor gave for answers after they leave (typed into the
    /// widget: nothing checked it).
    pub contact_email: Option<String>,
}

/// A conversation as agents see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    #[serde(flatten)]
    pub endpoint: Endpoint,
    pub customer_name: Option<String>,
    pub customer_username: Option<String>,
    pub customer_language: Option<String>,
    /// The customer blocked us on the channel (Telegram): replies cannot reach them.
    pub blocked: bool,
    /// A group chat (Telegram): stored and answerable, never auto-replied.
    pub group: bool,
    /// The channel's id of the customer's latest message: what a reply answers
    /// (email: its Message-ID, without angle brackets).
    pub reply_to: Option<String>,
    /// Email: the subject the thread started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Email: the References a reply to the latest customer mail carries (RFC 5322
    /// 3.6.4: its References, else its In-Reply-To, then its Message-ID).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_references: Vec<String>,
    pub status: ConversationStatus,
    /// When the customer started waiting (first unanswered inbound message); set only
    /// while the conversation is open.
    pub waiting_since: Option<DateTime<Utc>>,
    /// When the conversation entered its current status.
    pub status_since: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    /// When the newest customer message that asks for an answer was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_customer_at: Option<DateTime<Utc>>,
    /// When the customer last wrote anything (platform time): opens a channel's reply
    /// window (WhatsApp: 24 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// The agent who has it, if any.
    pub assignee: Option<String>,
    pub priority: Priority,
    /// While snoozed: when it reopens by itself.
    pub snooze_until: Option<DateTime<Utc>>,
    /// The newest message's text, cut to 140 characters (the queue's preview).
    pub preview: Option<String>,
    /// Customer messages since the last agent answer.
    pub unanswered: u64,
    /// The reply-by an auto-reply promised, and the `waiting_since` it was promised
    /// for (a promise holds only while that wait lasts).
    pub promised_reply_by: Option<DateTime<Utc>>,
    pub promise_for: Option<DateTime<Utc>>,
    pub message_count: u64,
    /// Started by a mail nothing authenticated (see [`Message::unverified`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
    /// Email: where agents' replies go when it is not the customer's authenticated
    /// address (the customer's Reply-To).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_address: Option<String>,
    /// Web: the address the visitor gave for answers after they leave (their own
    /// words: nothing checked it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// The conversation this one would have joined had its sender been part of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_to: Option<ConversationId>,
    /// Email: the Message-ID of our latest mail in the thread (a reply's References
    /// carry it when the customer's client dropped it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub our_message_id: Option<String>,
    /// When that mail was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub our_message_at: Option<DateTime<Utc>>,
}

impl Conversation {
    /// Where an agent's reply goes: the reply address where the customer gave one.
    pub fn reply_endpoint(&self) -> Endpoint {
        let mut endpoint = self.endpoint.clone();
        if let Some(address) = &self.reply_address {
            endpoint.customer_id = address.clone();
        }
        endpoint
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Customer,
    /// An agent, by id.
    Agent(String),
    /// asyncdesk's off-hours auto-reply.
    AutoReply,
}

impl Author {
    pub fn direction(&self) -> Direction {
        match self {
            Author::Customer => Direction::Inbound,
            Author::Agent(_) | Author::AutoReply => Direction::Outbound,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
}

/// A shared contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    pub name: Option<String>,
    pub phones: Vec<String>,
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

/// What a message says. The stored item carries the variant as `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Content {
    Text {
        text: String,
    },
    /// One or more files, with an optional caption.
    Media {
        attachments: Vec<Attachment>,
        text: Option<String>,
    },
    Location {
        location: Location,
    },
    Contacts {
        contacts: Vec<ContactCard>,
    },
    Choice {
        choice: Choice,
    },
    Reaction {
        reaction: Reaction,
    },
    /// A channel notice (the customer changed their number, blocked the bot...).
    System {
        text: String,
    },
    /// A type this version does not model; the payload is in the message's `raw`.
    Unknown,
    /// An agent's internal note: in the thread, never sent to the customer.
    Note {
        text: String,
    },
    /// An approved message template (WhatsApp, outside the 24-hour window).
    Template {
        template: TemplateMessage,
    },
}

/// A message template the channel approved, with its body parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateMessage {
    pub name: String,
    /// The template's language code (`en_US`, `de`).
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

impl Content {
    /// The attachments of a media message (none for any other kind).
    pub fn attachments(&self) -> &[Attachment] {
        match self {
            Content::Media { attachments, .. } => attachments,
            _ => &[],
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Media { .. } => "media",
            Content::Location { .. } => "location",
            Content::Contacts { .. } => "contacts",
            Content::Choice { .. } => "choice",
            Content::Reaction { .. } => "reaction",
            Content::System { .. } => "system",
            Content::Unknown => "unknown",
            Content::Note { .. } => "note",
            Content::Template { .. } => "template",
        }
    }

    /// The readable text: body, caption, chosen option or notice.
    pub fn text(&self) -> Option<&str> {
        match self {
            Content::Text { text } | Content::System { text } | Content::Note { text } => {
                Some(text)
            }
            Content::Media { text, .. } => text.as_deref(),
            Content::Choice { choice } => Some(&choice.title),
            Content::Reaction { reaction } => reaction.emoji.as_deref(),
            _ => None,
        }
    }

    /// Whether a customer message of this kind asks for a human (and so opens the
    /// conversation). Reactions and channel notices do not.
    pub fn asks_for_reply(&self) -> bool {
        !matches!(
            self,
            Content::Reaction { .. } | Content::System { .. } | Content::Note { .. }
        )
    }
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
    /// Email: the recipient marked it as spam (an SES complaint).
    Complained,
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
            DeliveryState::Complained => "complained",
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
            DeliveryState::Complained => 8,
            DeliveryState::Failed => 9,
        }
    }
}

/// An error reported by a channel (a failed delivery or a rejected send). Codes are
/// strings: WhatsApp's are numbers, SES's are names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderError {
    pub code: Option<String>,
    pub title: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub state: DeliveryState,
    pub at: DateTime<Utc>,
    pub error: Option<ProviderError>,
}

/// One edit of a message: when, and the text it gave the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub edited_at: DateTime<Utc>,
    pub text: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_states_only_move_forward() {
        assert!(DeliveryState::Read.rank() > DeliveryState::Delivered.rank());
        assert!(DeliveryState::Failed.rank() > DeliveryState::Read.rank());
    }

    #[test]
    fn content_says_what_it_asks_for() {
        assert!(Content::Text { text: "hi".into() }.asks_for_reply());
        assert!(!Content::System { text: "x".into() }.asks_for_reply());
        let r = Content::Reaction {
            reaction: Reaction {
                message_id: "m".into(),
                emoji: Some("👍".into()),
            },
        };
        assert!(!r.asks_for_reply());
        assert_eq!(r.kind(), "reaction");
    }
}
