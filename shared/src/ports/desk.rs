//! What the desk needs besides conversations: the team's saved replies, and the
//! change feed (conversations changed since a moment).

use super::StoreError;
use crate::conversation::Conversation;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A team snippet, with placeholders the desk fills in (`{customer_name}`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedReply {
    pub id: String,
    pub title: String,
    pub text: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// The conversations changed after a moment, oldest change first.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub conversations: Vec<Conversation>,
    /// More changed than one answer holds: the reader should re-read its queue.
    pub truncated: bool,
}

#[async_trait]
pub trait DeskStore: Send + Sync {
    /// Every saved reply, by title.
    async fn saved_replies(&self) -> Result<Vec<SavedReply>, StoreError>;
    /// Creates (`create`: only if the id is new) or replaces (only if it exists) one.
    /// `NotFound` when replacing a missing one; `Invalid` when creating a taken id.
    async fn put_saved_reply(&self, reply: &SavedReply, create: bool) -> Result<(), StoreError>;
    /// Deletes one; `NotFound` when there is none.
    async fn delete_saved_reply(&self, id: &str) -> Result<(), StoreError>;
    /// Conversations written after `after` (by the clock at the write), up to
    /// `limit` per feed partition.
    async fn changed_since(&self, after: DateTime<Utc>, limit: i32) -> Result<Changes, StoreError>;
}
