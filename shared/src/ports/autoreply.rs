//! The auto-reply's ports: its claims in the table, and the queue that holds the
//! next attempt of a send the channel refused for now.

use super::StoreError;
use crate::autoreply::Claim;
use crate::conversation::{ConversationId, Message};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a claim write went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimWrite {
    Written,
    /// The claim is no longer the one read: read again and decide again.
    Raced,
    /// The hour's share of the deployment's cap is used up (nothing was written).
    HourlyCapReached,
}

/// A block of the deployment's hourly auto-reply count, taken with a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyTake {
    /// The clock hour, `YYYY-MM-DDTHH` (UTC).
    pub hour: String,
    /// Which shard of the count (`autoreply::hourly_shards`), and its share of the cap.
    pub shard: u32,
    pub share: u32,
    /// How many to take.
    pub count: u32,
    /// When the count's item goes (TTL), a while after its hour.
    pub expires_at: DateTime<Utc>,
}

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

/// The auto-reply's store port.
#[async_trait]
pub trait AutoReplyClaims: Send + Sync {
    /// The customer's claim (`Endpoint::conversation_id`, the same on every
    /// thread). One consistent GetItem.
    async fn read_claim(&self, customer: &ConversationId) -> Result<Option<Claim>, StoreError>;

    /// Writes `claim` if the stored one is still at revision `expected` (`None`:
    /// there is none). With `take`, counts `take.count` auto-replies in the hour's
    /// shard in the same transaction, unless that passes the shard's share:
    /// `HourlyCapReached` then, and nothing is written. One conditional PutItem, or
    /// one TransactWriteItems with a take.
    async fn write_claim(
        &self,
        customer: &ConversationId,
        claim: &Claim,
        expected: Option<u64>,
        take: Option<&HourlyTake>,
        expires_at: DateTime<Utc>,
    ) -> Result<ClaimWrite, StoreError>;

    /// The stored message at `key`, if any. One consistent GetItem.
    async fn get_message(&self, key: &MessageKey) -> Result<Option<Message>, StoreError>;

    /// Counts one message of `customer` in `minute` (`YYYY-MM-DDTHH:MM`) and returns
    /// the count so far. One UpdateItem.
    async fn count_intake(
        &self,
        customer: &ConversationId,
        minute: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Marks a stored message as part of a flood (`flood: true`). One UpdateItem.
    async fn mark_flood(&self, message: &Message) -> Result<(), StoreError>;
}

/// The next attempt of an auto-reply the channel refused for now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoReplyRetry {
    /// The inbound message the auto-reply answers (the claim's owner).
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
    async fn schedule(&self, retry: &AutoReplyRetry, delay_secs: u64) -> Result<(), QueueError>;
}
