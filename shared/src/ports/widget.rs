//! What the website widget needs besides intake: a visitor's thread since a moment
//! (the widget's polling), and counters for its rate limits.

use super::StoreError;
use crate::conversation::{ConversationId, Message};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Messages of a thread, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ThreadSince {
    pub messages: Vec<Message>,
    /// More messages are stored after the last one returned.
    pub more: bool,
}

#[async_trait]
pub trait WidgetStore: Send + Sync {
    /// The messages of `id` sent at or after `since`, oldest first, at most `limit`;
    /// with no `since`, the newest `limit` (oldest first). One query (0.5 read units
    /// when nothing is new).
    async fn thread_since(
        &self,
        id: &ConversationId,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<ThreadSince, StoreError>;

    /// Counts one use of `key` in the minute of `now`: `false` (nothing counted) when
    /// `limit` uses were counted already. One conditional write; the counter expires.
    async fn take(&self, key: &str, limit: u32, now: DateTime<Utc>) -> Result<bool, StoreError>;
}

/// A web conversation with agent replies the visitor's widget has not fetched
/// (docs/widget.md, "After the visitor leaves").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailWatch {
    pub conversation: ConversationId,
    /// The oldest reply not fetched.
    pub first_at: DateTime<Utc>,
}

/// The watches of unfetched replies: written with an agent's web reply (by the
/// store, in the reply's transaction), cleared when the widget fetches it or the
/// replies go out by mail.
#[async_trait]
pub trait WebMailStore: Send + Sync {
    /// The watches whose oldest reply is older than `before`, at most `limit`.
    async fn due_mail_watches(
        &self,
        before: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<MailWatch>, StoreError>;

    /// Removes the watch of `conversation` if it covers no reply newer than `upto`;
    /// `false` when a newer reply came (the watch stays for it).
    async fn clear_mail_watch(
        &self,
        conversation: &ConversationId,
        upto: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}
