//! The ports: every trait the functions' handlers are written against, and the types
//! that cross them. The adapters live elsewhere (`channels/` for the channels,
//! `store::dynamo` for the table); this module depends on the model only.

use crate::conversation::{
    Author, Channel, Conversation, ConversationId, ConversationStatus, Endpoint, InboundMessage,
    Message, MessageEdit, Priority, ProviderError, Rejection, StatusUpdate, address_digest,
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

mod autoreply;
mod media;
mod queue;
pub use autoreply::*;
pub use media::*;
pub use queue::*;

// ---------------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------------

/// What a channel can do, declared once per channel (`channels/<name>/mod.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Longest text one message may carry (characters).
    pub max_text_chars: usize,
    /// Longer replies are split into several messages (else refused).
    pub splits_long_text: bool,
    /// How long after the customer's last message a free-form reply is allowed.
    pub reply_window: Option<Duration>,
    /// Approved message templates can be sent (also outside the reply window).
    pub templates: bool,
    /// The channel reports delivered / read for sent messages.
    pub delivery_receipts: bool,
    /// A reply can quote the customer's message it answers.
    pub replies_quote: bool,
    /// Files one message carries (more go out as more messages, the caption with
    /// the first).
    pub files_per_message: usize,
    /// Longest caption a file takes (characters).
    pub max_caption_chars: usize,
    /// A file the channel holds (sent or received before, its `file_id` in the
    /// thread) is sent again by that id, without an upload.
    pub resends_by_file_id: bool,
}

/// What an outgoing message answers: the customer message it replies to and, for
/// email, the subject and threading headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyContext {
    /// The channel's id of the customer message answered.
    pub provider_message_id: Option<String>,
    pub subject: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

impl ReplyContext {
    /// A reply to the customer message `message` (the auto-reply).
    pub fn to_message(message: &Message) -> Self {
        let mail = message.mail.as_ref();
        ReplyContext {
            provider_message_id: message.provider_message_id.clone(),
            subject: mail.and_then(|m| m.subject.clone()),
            in_reply_to: mail.and_then(|m| m.message_id.clone()),
            references: mail.map(|m| m.reply_references()).unwrap_or_default(),
        }
    }

    /// A reply to the latest customer message of `conversation` (an agent's). Its
    /// References are the customer's (RFC 5322 3.6.4), with our latest mail in the
    /// thread put back before their Message-ID when their client dropped it.
    pub fn to_conversation(conversation: &Conversation) -> Self {
        let email = conversation.endpoint.channel == Channel::Email;
        let mut references = conversation.reply_references.clone();
        // Only a mail of ours that the customer's latest mail came after (and so
        // should have named).
        let answered_after = match (conversation.our_message_at, conversation.last_customer_at) {
            (Some(ours), Some(theirs)) => ours < theirs,
            _ => false,
        };
        if let Some(ours) = conversation
            .our_message_id
            .as_ref()
            .filter(|_| answered_after)
            && !references.iter().any(|r| r.eq_ignore_ascii_case(ours))
        {
            let at = references.len().saturating_sub(1);
            references.insert(at, ours.clone());
        }
        ReplyContext {
            provider_message_id: conversation.reply_to.clone(),
            subject: conversation.subject.clone(),
            in_reply_to: conversation.reply_to.clone().filter(|_| email),
            references,
        }
    }
}

/// A message to send on the customer's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The conversation it belongs to (on email, one of the customer's threads).
    pub conversation: ConversationId,
    /// An agent's reply: the store time of the newest customer message it answers
    /// (a newer one keeps the conversation open).
    pub covers: Option<DateTime<Utc>>,
    pub endpoint: Endpoint,
    pub author: Author,
    pub text: String,
    /// An approved template to send instead of `text` (WhatsApp).
    pub template: Option<crate::conversation::TemplateMessage>,
    /// An auto-reply: the reply-by it promises (kept on the conversation for the
    /// queue's order).
    pub promise: Option<DateTime<Utc>>,
    pub reply: Option<ReplyContext>,
    /// Files to send, `text` their caption (an agent's attachments).
    pub files: Vec<OutgoingFile>,
}

/// A file an agent sends: as the thread keeps it (stored in the media bucket), and
/// its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingFile {
    /// `state` stored, `key`, the type read from the bytes, the safe name, size
    /// and hash; `media_kind` what the channel sends it as.
    pub attachment: crate::conversation::Attachment,
    pub bytes: std::sync::Arc<Vec<u8>>,
}

impl OutgoingFile {
    /// The type it is sent as.
    pub fn mime_type(&self) -> &str {
        self.attachment
            .mime_type
            .as_deref()
            .unwrap_or("application/octet-stream")
    }

    pub fn filename(&self) -> &str {
        self.attachment.filename.as_deref().unwrap_or("file")
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

impl std::fmt::Debug for OutgoingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingFile")
            .field("attachment", &self.attachment)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// What a channel returned for an accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SentMessage {
    pub provider_message_id: String,
    /// Keys under which a customer's answer to it finds the conversation (email:
    /// the id SES gave the mail, which its Message-ID carries).
    pub thread_keys: Vec<String>,
    /// The Message-ID the recipient sees, without brackets (email: SES's id at
    /// `email.amazonses.com`, or `<region>.amazonses.com` outside us-east-1).
    pub message_id: Option<String>,
    /// The channel's id of the file it sent (Telegram: a file_id the bot can send
    /// again without uploading).
    pub file_id: Option<String>,
}

impl SentMessage {
    pub fn new(provider_message_id: impl Into<String>) -> Self {
        SentMessage {
            provider_message_id: provider_message_id.into(),
            thread_keys: Vec::new(),
            message_id: None,
            file_id: None,
        }
    }
}

/// Why a send failed, sorted by what the caller should do about it.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum SendError {
    /// The channel refused this message (bad recipient, outside the reply window...).
    /// Retrying the same request will not help.
    #[error("rejected by the channel: {}", .0.title)]
    Rejected(ProviderError),
    /// The customer cannot be reached on this channel any more (blocked the bot,
    /// deactivated the account).
    #[error("the customer cannot be reached: {}", .0.title)]
    Unreachable(ProviderError),
    /// Our credentials were refused: a configuration problem.
    #[error("the channel refused our credentials: {}", .0.title)]
    Unauthorized(ProviderError),
    /// Too many messages; try again later.
    #[error("rate limited by the channel: {}", .error.title)]
    RateLimited {
        retry_after: Option<u64>,
        error: ProviderError,
    },
    /// The channel could not be reached or failed on its side, and did not take the
    /// message; retrying may help.
    #[error("channel unavailable: {0}")]
    Unavailable(String),
    /// The request went out but no usable answer came back (timeout, cut-off or
    /// unreadable response): the message may have been delivered. Retrying risks a
    /// duplicate.
    #[error("send outcome unknown: {0}")]
    Unconfirmed(String),
    /// This deployment has no configuration for the channel.
    #[error("the {0} channel is not configured in this deployment")]
    NotConfigured(Channel),
    /// The message is outside what the channel takes (a file's type or size, a
    /// caption's length), found before anything was sent; names the limit.
    #[error("{0}")]
    Limit(String),
}

impl SendError {
    /// The class's name (metrics and logs).
    pub fn class(&self) -> &'static str {
        match self {
            SendError::Rejected(_) => "rejected",
            SendError::Unreachable(_) => "unreachable",
            SendError::Unauthorized(_) => "unauthorized",
            SendError::RateLimited { .. } => "rate_limited",
            SendError::Unavailable(_) => "unavailable",
            SendError::Unconfirmed(_) => "unconfirmed",
            SendError::NotConfigured(_) => "not_configured",
            SendError::Limit(_) => "limit",
        }
    }

    /// Whether the same send may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SendError::RateLimited { .. } | SendError::Unavailable(_)
        )
    }

    /// The channel's own error, where it gave one.
    pub fn provider_error(&self) -> ProviderError {
        match self {
            SendError::Rejected(e)
            | SendError::Unreachable(e)
            | SendError::Unauthorized(e)
            | SendError::RateLimited { error: e, .. } => e.clone(),
            SendError::Unavailable(m) | SendError::Unconfirmed(m) | SendError::Limit(m) => {
                ProviderError {
                    code: None,
                    title: m.clone(),
                    detail: None,
                }
            }
            SendError::NotConfigured(_) => ProviderError {
                code: None,
                title: self.to_string(),
                detail: None,
            },
        }
    }
}

/// Something the channel wants acknowledged once a webhook is stored (Telegram:
/// answerCallbackQuery, so the customer's button stops spinning). The channel
/// answers it in its webhook response (`WebhookChannel::response`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub channel: Channel,
    pub id: String,
}

/// The one sending seam: each channel's client implements it (enabled for its own
/// channel only) and `channels::Channels` routes a message to the client of its
/// channel. Channel rules (a reply window, a blocked bot, size limits) stay in the
/// channel's folder and come back as [`SendError`]s.
#[async_trait]
pub trait Outbound: Send + Sync {
    async fn send(&self, message: &Outgoing) -> Result<SentMessage, SendError>;

    /// Whether this sender sends on `channel` (configured in this deployment).
    fn enabled(&self, channel: Channel) -> bool;

    /// Checks `message` against the channel's limits before anything is sent
    /// (`SendError::Limit` naming the limit); no request.
    fn check(&self, _message: &Outgoing) -> Result<(), SendError> {
        Ok(())
    }
}

/// Why a webhook request was not accepted as the platform's.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct AuthError(pub String);

/// A body that is not the platform's envelope at all (-> 400).
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// Everything a webhook delivery carried, normalized.
#[derive(Debug, Default, PartialEq)]
pub struct InboundBatch {
    pub messages: Vec<InboundMessage>,
    pub edits: Vec<MessageEdit>,
    pub statuses: Vec<StatusUpdate>,
    pub rejections: Vec<Rejection>,
    pub acknowledgements: Vec<Acknowledgement>,
    /// Parts acknowledged but not stored (account updates, update kinds asyncdesk
    /// does not use).
    pub ignored: usize,
}

/// A webhook request as the channel sees it.
pub struct WebhookRequest<'a> {
    pub headers: &'a http::HeaderMap,
    /// The exact bytes received (after API Gateway's base64).
    pub body: &'a [u8],
    pub query: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

/// The inbound side of a channel: its webhook's authentication and format.
pub trait WebhookChannel: Send + Sync {
    fn channel(&self) -> Channel;

    /// The GET subscription handshake, for channels that have one: `Some(Ok(body))`
    /// to echo, `Some(Err(_))` to refuse (403), `None` when the channel has none.
    fn handshake(&self, _req: &WebhookRequest) -> Option<Result<String, AuthError>> {
        None
    }

    /// Checks that the request comes from the platform (-> 401 when not).
    fn authenticate(&self, req: &WebhookRequest) -> Result<(), AuthError>;

    /// Reads the body. Fails only when it is not the platform's envelope; elements
    /// that cannot be read become `unknown` messages or rejections.
    fn parse(&self, body: &[u8], received_at: DateTime<Utc>) -> Result<InboundBatch, PayloadError>;

    /// The body of the webhook's 200 answer when the channel takes one as a call
    /// (Telegram runs the Bot API method a webhook response names), else `None` (the
    /// receipt is the answer).
    fn response(&self, _acknowledgements: &[Acknowledgement]) -> Option<serde_json::Value> {
        None
    }
}

// ---------------------------------------------------------------------------------
// Objects (mail that SES stored in S3)
// ---------------------------------------------------------------------------------

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ObjectError {
    /// The object does not exist (expired, deleted) or we may not read it: retrying
    /// will not help.
    #[error("object not readable: {0}")]
    Missing(String),
    /// The object store could not be reached; retrying may help.
    #[error("object store unavailable: {0}")]
    Unavailable(String),
}

/// Reads objects by bucket and key (S3).
#[async_trait]
pub trait ObjectReader: Send + Sync {
    async fn read(&self, bucket: &str, key: &str) -> Result<Vec<u8>, ObjectError>;
}

/// Deletes objects by bucket and key (S3: a mail source, at erasure).
#[async_trait]
pub trait ObjectRemover: Send + Sync {
    /// Deleting an object that is gone succeeds.
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), ObjectError>;
}

// ---------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------

#[derive(Debug, Error)]
pub enum StoreError {
    /// The table could not be reached or refused the request; retrying may help.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A pagination cursor that this store did not issue.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A conditional write found the item missing (e.g. reply to an unknown conversation).
    #[error("not found: {0}")]
    NotFound(String),
    /// An item that does not map to the model (written by something else?).
    #[error("unreadable item: {0}")]
    Corrupt(String),
    /// The table refused this write for good (an item over 400 KB, a value it does
    /// not take): retrying cannot help, so the input is kept as a rejection.
    #[error("the table refused the write: {0}")]
    Invalid(String),
}

/// Outcome of recording an inbound message or an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Stored,
    /// Seen before (a platform redelivery): nothing was written.
    Duplicate,
}

/// Outcome of applying a delivery status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusApplied {
    Applied,
    /// The message already has this or a later state.
    Stale,
    /// No stored message carries that provider id (yet): the status overtook its
    /// message's final write, which takes it over, or the message was not sent
    /// through asyncdesk. Kept for a day.
    Parked,
}

/// What storing an outbound message does to its conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundEffect {
    /// An agent answered: the conversation waits for the customer (pending).
    AwaitCustomer,
    /// An agent answered the customer messages stored up to `covered`: pending,
    /// unless a newer customer message was stored meanwhile (then it stays open).
    AwaitCustomerUnlessNewer { covered: DateTime<Utc> },
    /// Status unchanged (auto-replies, failed sends).
    KeepStatus,
}

/// Whose conversations a queue listing shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    Any,
    Unassigned,
    Agent(String),
}

/// A queue listing: the conversations of one status in one order, filtered, a page
/// after `cursor`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueQuery {
    pub status: ConversationStatus,
    pub order: Order,
    pub channel: Option<Channel>,
    pub assignee: AssigneeFilter,
    pub priority: Option<Priority>,
    /// 1 to 100.
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

/// A page of a queue listing; `next` goes on after it (`None`: the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePage {
    pub conversations: Vec<Conversation>,
    pub next: Option<Cursor>,
}

/// The business-minute deadline of a wait that starts at an instant (the business
/// hours' `reply_by`), for the `due` order.
pub type ReplyBy<'a> = &'a (dyn Fn(DateTime<Utc>) -> Option<DateTime<Utc>> + Send + Sync);

/// One page of a thread, newest message first.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadPage {
    pub conversation: Conversation,
    /// Newest first.
    pub messages: Vec<Message>,
    /// Pass back for the older messages; `None` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    pub conversation: Conversation,
    /// Oldest first.
    pub messages: Vec<Message>,
}

pub use crate::lifecycle::order::{Cursor, Order};
pub use crate::lifecycle::{StateChange, StatusChange};

/// What an idempotency key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyRecord {
    /// A request with this key is being handled; it holds the key until `lease_until`.
    InFlight {
        body_hash: String,
        lease_until: DateTime<Utc>,
    },
    /// The answer the first request got.
    Done {
        body_hash: String,
        status: u16,
        body: String,
    },
}

impl IdempotencyRecord {
    pub fn body_hash(&self) -> &str {
        match self {
            IdempotencyRecord::InFlight { body_hash, .. }
            | IdempotencyRecord::Done { body_hash, .. } => body_hash,
        }
    }
}

/// What an erasure removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    pub conversation: ConversationId,
    /// Table items deleted (conversation, messages, links).
    pub items: usize,
    pub messages: usize,
    /// Where mail sources were kept (`s3://...`): the bucket's lifecycle removes them.
    pub sources: Vec<String>,
}

/// Most conversations [`ConversationStore::find_thread`] returns.
pub const THREAD_CANDIDATES_MAX: usize = 5;

/// A stored conversation a mail may join, and who may join it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCandidate {
    pub id: ConversationId,
    /// The conversation's customer (its authenticated address).
    pub customer_id: String,
    /// [`address_digest`]s of everyone who takes part: authenticated senders of its
    /// mail and the addresses we wrote to.
    pub participants: Vec<String>,
}

impl ThreadCandidate {
    /// Whether `address` may write into this conversation.
    pub fn admits(&self, address: &str) -> bool {
        self.customer_id.eq_ignore_ascii_case(address)
            || self.participants.contains(&address_digest(address))
    }
}

/// The store port: every access pattern of the conversation table.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// The conversations a mail may belong to, best first: the one `token` names,
    /// then those stored under `keys` in order (thread keys of an email thread), at
    /// most [`THREAD_CANDIDATES_MAX`], each with who takes part in it. Conversations
    /// of another channel or business account are left out. One request for the
    /// links (none without keys), one for the conversations (none when nothing is
    /// found).
    async fn find_thread(
        &self,
        channel: Channel,
        business_id: &str,
        token: Option<&ConversationId>,
        keys: &[String],
    ) -> Result<Vec<ThreadCandidate>, StoreError>;

    /// Stores an inbound message, creating or reopening its conversation, unless one
    /// of its dedupe keys was seen before. One request, all or nothing.
    async fn record_inbound(
        &self,
        inbound: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError>;

    /// Applies an edit to the stored message, keeping the earlier text in its
    /// history. An edit of a message that was never stored is stored as the message
    /// (without an auto-reply); a repeated or older edit changes nothing.
    async fn record_edit(
        &self,
        edit: &MessageEdit,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError>;

    /// Keeps a webhook element that could not be read (raw JSON), once.
    async fn record_rejection(&self, rejection: &Rejection) -> Result<(), StoreError>;

    /// Records a delivery status on the outbound message it belongs to, or parks it
    /// until that message's final write when the status arrives first.
    async fn apply_status(&self, update: &StatusUpdate) -> Result<StatusApplied, StoreError>;

    /// A page of the agents' queue: read from the queue indexes, a page per
    /// partition merged, whatever the queue's size (`now`: where resolved listings
    /// start).
    async fn queue_page(
        &self,
        query: &QueueQuery,
        reply_by: ReplyBy<'_>,
        now: DateTime<Utc>,
    ) -> Result<QueuePage, StoreError>;

    async fn get_conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<Conversation>, StoreError>;

    /// The conversation and all its messages, oldest first.
    async fn get_thread(&self, id: &ConversationId) -> Result<Option<Thread>, StoreError>;

    /// The conversation and up to `limit` of its messages, newest first, from
    /// `cursor` (one this method issued for this conversation). Two requests.
    async fn thread_page(
        &self,
        id: &ConversationId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Option<ThreadPage>, StoreError>;

    /// Stores an outbound message before it is handed to the channel (delivery state
    /// `sending`), so that nothing is lost if the final write fails. One request.
    async fn record_sending(&self, message: &Message) -> Result<(), StoreError>;

    /// Stores an outbound message in its final state, replacing its `sending` record
    /// (and, when the channel gave one, the link from its provider id for status
    /// updates), and updates the conversation. One request; two more when a status
    /// for it was parked first, which the message then takes over.
    async fn record_outbound(
        &self,
        message: &Message,
        effect: OutboundEffect,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Applies an agent's change to a conversation; the conversation as it is now.
    /// One request. `NotFound` for an unknown conversation.
    async fn change_state(
        &self,
        id: &ConversationId,
        change: &StateChange,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError>;

    /// Reopens the snoozed conversations whose `snooze_until` has come; how many.
    async fn wake_snoozed(&self, now: DateTime<Utc>) -> Result<usize, StoreError>;

    /// Marks the conversation as blocked by the customer (a send found out).
    async fn mark_blocked(&self, id: &ConversationId, now: DateTime<Utc>)
    -> Result<(), StoreError>;

    /// Claims idempotency key `key` (already scoped to its agent) for a request whose
    /// body hashes to `body_hash`: `None` for the first caller (a conditional write
    /// decides), else what the key holds. The key lives until `expires_at`.
    async fn claim_idempotency(
        &self,
        key: &str,
        body_hash: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// What key `key` holds (read strongly consistent).
    async fn get_idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Stores the answer of the request that claimed `key`.
    async fn finish_idempotency(
        &self,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError>;

    /// Frees `key` after a request that sent nothing (a retry may try again).
    async fn release_idempotency(&self, key: &str) -> Result<(), StoreError>;

    /// Erases conversation `id` (GDPR erasure): its item, every message, and the
    /// links whose keys carry a channel id (WhatsApp ids embed the phone number),
    /// leaving an audit item that names the agent and the counts, no personal data.
    /// `None` when there is no such conversation. One Query per 1 MB of thread, one
    /// BatchWriteItem per 25 items, one PutItem for the audit.
    async fn erase_conversation(
        &self,
        id: &ConversationId,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Erased>, StoreError>;

    /// Keeps `message` for a later redrive: its auto-reply failed and the stream
    /// gives up on it (kept 14 days). One PutItem.
    async fn keep_for_redrive(
        &self,
        message: &Message,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Up to `limit` messages kept for a redrive. One Query.
    async fn kept_for_redrive(&self, limit: i32) -> Result<Vec<Message>, StoreError>;

    /// Forgets a kept message once redriven. One DeleteItem.
    async fn redriven(&self, message: &Message) -> Result<(), StoreError>;
}
