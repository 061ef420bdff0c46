//! The conversation model: one conversation per customer per business account on a
//! channel, and the messages in it. It imports nothing from `channels/`: channel
//! modules translate their payloads into these types.

use chrono::{DateTime, Utc};
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
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Whatsapp, Channel::Telegram, Channel::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Telegram => "telegram",
            Channel::Email => "email",
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

/// What kind of file an attachment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Voice,
    Document,
    Sticker,
    Animation,
}

/// A file attached to a message. The bytes stay with the channel (or in S3); this
/// is how to find them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub media_kind: MediaKind,
    /// The channel's id for the file (WhatsApp media id, Telegram file_id).
    pub file_id: Option<String>,
    pub mime_type: Option<String>,
    pub filename: Option<String>,
    pub size: Option<u64>,
    pub sha256: Option<String>,
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
}

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
