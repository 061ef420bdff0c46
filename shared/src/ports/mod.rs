//! The ports: every trait the functions' handlers are written against, and the types
//! that cross them. The adapters live elsewhere (`channels/` for the channels,
//! `store::dynamo` for the table); this module depends on the model only.

use crate::conversation::{
    Channel, Conversation, ConversationId, ConversationStatus, InboundMessage, Message,
    MessageEdit, Priority, Rejection, StatusUpdate, address_digest,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

mod autoreply;
mod channels;
mod desk;
mod media;
mod queue;
mod reports;
mod widget;
pub use autoreply::*;
pub use channels::*;
pub use desk::*;
pub use media::*;
pub use queue::*;
pub use reports::*;
pub use widget::*;

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
    /// of another channel or business account are left out (but a mail may find a
    /// website chat: our mail to a visitor who left). One request for the links
    /// (none without keys), one for the conversations (none when nothing is found).
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
