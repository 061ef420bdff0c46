//! The store port: every DynamoDB access pattern of asyncdesk, named in one place.
//! `docs/data-model.md` lists the key shapes and the request count of each.

pub mod dynamo;
pub mod items;

use crate::conversation::{
    Conversation, ConversationId, ConversationStatus, InboundMessage, Message, StatusUpdate,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

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
}

/// Outcome of recording an inbound message.
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
    /// Status unchanged (auto-replies, failed sends).
    KeepStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    /// Pass back to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    pub conversation: Conversation,
    /// Oldest first.
    pub messages: Vec<Message>,
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Stores an inbound message, creating or reopening its conversation, unless it
    /// was stored before. One request, all or nothing.
    async fn record_inbound(
        &self,
        inbound: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError>;

    /// Records a delivery status on the outbound message it belongs to, or parks it
    /// until that message's final write when the status arrives first.
    async fn apply_status(&self, update: &StatusUpdate) -> Result<StatusApplied, StoreError>;

    /// Conversations in `status`, the one waiting longest (in that status) first.
    async fn list_conversations(
        &self,
        status: ConversationStatus,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<ConversationPage, StoreError>;

    async fn get_conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<Conversation>, StoreError>;

    /// The conversation and all its messages, oldest first.
    async fn get_thread(&self, id: &ConversationId) -> Result<Option<Thread>, StoreError>;

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

    /// Claims the single auto-reply of `period_key` for a conversation. `true` for
    /// the first caller only; the claim expires at `expires_at`.
    async fn claim_auto_reply(
        &self,
        id: &ConversationId,
        period_key: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives a claim back after a send that may succeed on retry failed.
    async fn release_auto_reply(
        &self,
        id: &ConversationId,
        period_key: &str,
    ) -> Result<(), StoreError>;
}
