//! Where a stored message is, and the queue that hands a message back for a later
//! attempt (an auto-reply a channel refused for now, media a platform did not serve).

use crate::conversation::{ConversationId, Message};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a stored message is: its conversation, time and id (its key in the thread).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageKey {
    pub conversation: ConversationId,
    pub sent_at: DateTime<Utc>,
    pub id: String,
}

impl MessageKey {
    pub fn of(message: &Message) -> Self {
        MessageKey {
            conversation: message.conversation_id.clone(),
            sent_at: message.sent_at,
            id: message.id.clone(),
        }
    }
}

/// The next attempt at a stored message: an auto-reply the channel refused for now,
/// or the capture of its attachments that failed for now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRetry {
    /// The inbound message (the auto-reply's claim owner; the media's message).
    pub message: MessageKey,
    /// Attempts made so far.
    pub attempts: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("retry queue unavailable: {0}")]
pub struct QueueError(pub String);

/// A queue that hands a retry back after a delay (SQS, `DelaySeconds`).
#[async_trait]
pub trait RetryQueue: Send + Sync {
    /// Hands `retry` back in `delay_secs` (at most 900).
    async fn schedule(&self, retry: &MessageRetry, delay_secs: u64) -> Result<(), QueueError>;
}
