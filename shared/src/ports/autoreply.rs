//! The auto-reply's ports: its claims in the table.

use super::MessageKey;
use super::StoreError;
use crate::autoreply::Claim;
use crate::conversation::{ConversationId, Message};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

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
