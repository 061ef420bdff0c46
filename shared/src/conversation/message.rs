//! One message, in either direction, and what a channel hands the store with it.

use super::{
    Author, Channel, Content, ConversationId, CustomerProfile, Delivery, DeliveryState, Direction,
    Edit, Endpoint, MailMeta, Origin, ProviderError,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One message of a conversation, in either direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Unique within the conversation. Inbound: the channel's message id. Outbound: ours.
    pub id: String,
    pub conversation_id: ConversationId,
    #[serde(flatten)]
    pub endpoint: Endpoint,
    pub author: Author,
    #[serde(flatten)]
    pub content: Content,
    /// Whether this message may get an off-hours auto-reply: a customer message that
    /// asks for a reply, from a person, in a one-to-one chat. The channel decides
    /// when parsing; the stream filter matches this attribute.
    #[serde(default)]
    pub wants_answer: bool,
    /// When the message was sent: the platform's timestamp for inbound messages.
    pub sent_at: DateTime<Utc>,
    /// When asyncdesk stored it.
    pub stored_at: DateTime<Utc>,
    /// The message this one replies to (channel message id).
    pub reply_to: Option<String>,
    /// The channel's id for this message (outbound: returned by the send API).
    pub provider_message_id: Option<String>,
    /// The original JSON, kept for what asyncdesk does not model.
    pub raw: Option<String>,
    /// Formatting the channel reported (Telegram entities), as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<String>,
    pub delivery: Option<Delivery>,
    /// The text as first received, once the message was edited (Telegram edits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_text: Option<String>,
    /// Each edit's new text, oldest first; `text` is the latest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<Edit>,
    /// What the channel reported about who or what sent it (for the loop guard).
    #[serde(default, skip_serializing_if = "Origin::is_empty")]
    pub origin: Origin,
    /// Why the loop guard took this for a machine's message (auto-reply, bounce,
    /// mailing list, bot, spam...): it gets no auto-reply and reopens nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<String>,
    /// Email: subject, threading headers, the quoted history, where the source is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailMeta>,
    /// Keys under which later messages of the thread find this conversation (email:
    /// this mail's Message-ID, our SES message id, the subject).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread_keys: Vec<String>,
    /// An auto-reply: the reply-by it promised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_reply_by: Option<DateTime<Utc>>,
    /// Inbound: the sender's name, language and time zone as the channel gave or
    /// implied them when it arrived (the auto-reply addresses them).
    #[serde(default, skip_serializing_if = "Sender::is_empty")]
    pub sender: Sender,
    /// Nothing the platform checked says who sent it (email without a passing SPF,
    /// DKIM or DMARC verdict): shown to agents, never auto-replied, never joined to
    /// another conversation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
    /// Part of a flood: its sender wrote more than [`FLOOD_PER_MINUTE`] messages in
    /// a minute (marked by the auto-reply function, which answers none of them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flood: bool,
}

/// Messages a sender may write in one minute before the rest are marked `flood`.
pub const FLOOD_PER_MINUTE: u64 = 60;

/// What an inbound message says about its sender, for the auto-reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// IETF language tag (Telegram `language_code`, email Content-Language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The customer's time zone where the channel implies it: an IANA name (from a
    /// phone number's calling code) or a UTC offset like `+09:00` (from an email's
    /// Date header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

impl Sender {
    pub fn is_empty(&self) -> bool {
        *self == Sender::default()
    }
}

impl Message {
    /// A new outbound text message to `endpoint`, with a fresh id.
    pub fn outbound(endpoint: &Endpoint, author: Author, text: &str, at: DateTime<Utc>) -> Self {
        Message {
            id: format!("out-{}", uuid::Uuid::new_v4().simple()),
            conversation_id: endpoint.conversation_id(),
            endpoint: endpoint.clone(),
            author,
            content: Content::Text {
                text: text.to_string(),
            },
            wants_answer: false,
            sent_at: at,
            stored_at: at,
            reply_to: None,
            provider_message_id: None,
            raw: None,
            entities: None,
            delivery: None,
            original_text: None,
            edits: Vec::new(),
            origin: Origin::default(),
            automated: None,
            mail: None,
            thread_keys: Vec::new(),
            sender: Sender::default(),
            unverified: false,
            flood: false,
            promised_reply_by: None,
        }
    }

    /// A new inbound customer message; the channel fills in the rest.
    pub fn inbound(
        endpoint: Endpoint,
        id: impl Into<String>,
        content: Content,
        sent_at: DateTime<Utc>,
        stored_at: DateTime<Utc>,
    ) -> Self {
        let wants_answer = content.asks_for_reply();
        Message {
            id: id.into(),
            conversation_id: endpoint.conversation_id(),
            endpoint,
            author: Author::Customer,
            content,
            wants_answer,
            sent_at,
            stored_at,
            reply_to: None,
            provider_message_id: None,
            raw: None,
            entities: None,
            delivery: None,
            original_text: None,
            edits: Vec::new(),
            origin: Origin::default(),
            automated: None,
            mail: None,
            thread_keys: Vec::new(),
            sender: Sender::default(),
            unverified: false,
            flood: false,
            promised_reply_by: None,
        }
    }

    /// Whether this message opens (or reopens) its conversation for agents: a
    /// customer message that asks for a reply and is not a machine's.
    pub fn opens_conversation(&self) -> bool {
        self.author == Author::Customer && self.content.asks_for_reply() && self.automated.is_none()
    }

    pub fn direction(&self) -> Direction {
        self.author.direction()
    }

    pub fn text(&self) -> Option<&str> {
        self.content.text()
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
}

/// An inbound message together with what the channel told us about the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub message: Message,
    pub customer: CustomerProfile,
    /// Keys under which a redelivery of this message is recognised, each scoped by
    /// channel and business account (Telegram: the update and the chat's message).
    pub dedupe_keys: Vec<String>,
    /// The customer blocked (`Some(true)`) or unblocked us with this event.
    pub blocked: Option<bool>,
    /// The conversation is a group chat.
    pub group: bool,
    /// Thread keys (see [`Message::thread_keys`]) of the conversation this message
    /// may belong to, best first: the first one stored decides its conversation
    /// (email replies). Empty when the channel knows the conversation.
    pub thread_lookup: Vec<String>,
    /// A conversation the message names itself (email: our Reply-To token, when it
    /// is an envelope recipient); looked up before `thread_lookup`.
    pub thread_token: Option<ConversationId>,
    /// The address the platform authenticated as the sender (email), the only one
    /// that may join an existing thread: it must be that conversation's customer or
    /// already take part in it. `None` never joins.
    pub authenticated_sender: Option<String>,
    /// A conversation the message belongs with but may not join (another sender's
    /// thread): the new conversation links to it.
    pub related_to: Option<ConversationId>,
}

impl InboundMessage {
    pub fn new(mut message: Message, customer: CustomerProfile, dedupe_key: String) -> Self {
        message.sender.name = customer.name.clone();
        message.sender.language = customer.language.clone();
        InboundMessage {
            message,
            customer,
            dedupe_keys: vec![dedupe_key],
            blocked: None,
            group: false,
            thread_lookup: Vec::new(),
            thread_token: None,
            authenticated_sender: None,
            related_to: None,
        }
    }
}

/// A new version of a stored inbound message (Telegram `edited_message`).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageEdit {
    /// The message as it reads now, under the id and send time it was stored with.
    pub message: Message,
    pub edited_at: DateTime<Utc>,
    pub customer: CustomerProfile,
}

/// A delivery status reported for an outbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub channel: Channel,
    pub business_id: String,
    pub provider_message_id: String,
    pub state: DeliveryState,
    pub at: DateTime<Utc>,
    pub error: Option<ProviderError>,
}

/// A webhook element that could not be read into a message and has no id to store
/// it under: kept with its raw JSON so that nothing is lost silently.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub channel: Channel,
    pub business_id: Option<String>,
    /// Where in the payload (e.g. `entry[0].changes[0].value.messages[2]`).
    pub path: String,
    pub reason: String,
    pub raw: String,
    pub received_at: DateTime<Utc>,
}
