//! The DynamoDB adapter of the store port. Conditional writes decide every race;
//! each method's request count is documented in docs/data-model.md.

pub use super::cursors::{decode_thread_cursor, encode_thread_cursor};
use super::items::*;
use super::{
    ConversationStore, OutboundEffect, Recorded, StatusApplied, StoreError, Thread, ThreadPage,
};
use crate::conversation::{
    Channel, Conversation, ConversationId, InboundMessage, Message, MessageEdit, Rejection,
    StatusUpdate,
};
use crate::ports::{
    IdempotencyRecord, QueuePage, QueueQuery, ReplyBy, StateChange, ThreadCandidate,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// Dedupe items outlive Meta's 7 days of webhook retries.
pub(super) const DEDUPE_TTL_SECS: i64 = 8 * 24 * 3600;
/// Status callbacks for a sent message arrive within days; keep the link for 30.
pub(super) const PROVIDER_LINK_TTL_SECS: i64 = 30 * 24 * 3600;
/// A status that overtook its message's final write waits this long to be claimed.
pub(super) const PARKED_STATUS_TTL_SECS: i64 = 24 * 3600;
/// Attributes of a provider link item that holds a parked status (no message yet).
pub(super) const PARKED_DELIVERY: &str = "parked_delivery";
pub(super) const PARKED_RANK: &str = "parked_rank";
/// A customer may answer an email thread long after it went quiet.
pub(super) const THREAD_LINK_TTL_SECS: i64 = 2 * 366 * 24 * 3600;
/// Edits a message keeps in its history (the newest; the first text stays in
/// `original_text`), so that no item nears 400 KB.
pub const MAX_EDITS: usize = 20;
/// Rounds of a conditional write that lost a race to a concurrent writer.
pub(super) const RACE_ROUNDS: usize = 3;

#[derive(Clone)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
    /// How long messages are kept (`MESSAGE_RETENTION_DAYS`); `None`: until erased.
    retention: Option<chrono::Duration>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            retention: None,
        }
    }

    /// Messages written from now on expire `retention` after they were stored, and
    /// a conversation `retention` after its last message (the table's TTL).
    pub fn with_retention(mut self, retention: Option<chrono::Duration>) -> Self {
        self.retention = retention;
        self
    }

    /// When an item written at `at` expires, under the retention.
    pub(super) fn expiry(&self, at: DateTime<Utc>) -> Option<i64> {
        self.retention.map(|r| (at + r).timestamp())
    }

    /// The stored form of `message`, with its expiry.
    pub(super) fn message_item(&self, message: &Message) -> MessageItem {
        let mut item = MessageItem::new(message);
        item.expires_at = self.expiry(message.stored_at);
        item
    }

    /// The adapter over the SDK configuration `main` loaded (`crate::sdk::load`).
    pub fn from_config(config: &crate::sdk::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub(super) fn put(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        self.put_if(item, condition, Vec::new())
    }

    pub(super) fn put_if(
        &self,
        item: Item,
        condition: Option<&str>,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let values =
            (!values.is_empty()).then(|| values.into_iter().map(|(k, v)| (k.into(), v)).collect());
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Puts the links that let later messages of the thread find `message`'s
    /// conversation (unconditional: the newest thread wins a shared key).
    pub(super) fn thread_links(
        &self,
        message: &Message,
        now: DateTime<Utc>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        message
            .thread_keys
            .iter()
            .map(|key| {
                let pk =
                    thread_link_pk(message.endpoint.channel, &message.endpoint.business_id, key);
                let expires = now.timestamp() + THREAD_LINK_TTL_SECS;
                let link = link_item(pk, "THREAD", TYPE_THREAD_LINK, message, expires);
                self.put(link, None)
            })
            .collect()
    }

    /// BatchGetItem of at most 100 keys (`projection`: only those attributes),
    /// asking again, with a short backoff, for the keys DynamoDB left unprocessed
    /// (it does under throttling); an error if some are still left after that.
    pub(super) async fn batch_get(
        &self,
        keys: Vec<Item>,
        projection: Option<&str>,
        names: &[(&str, &str)],
    ) -> Result<Vec<Item>, StoreError> {
        let mut pending = keys;
        let mut found = Vec::new();
        for round in 0..8u32 {
            let mut wanted = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .set_projection_expression(projection.map(str::to_string));
            for (k, v) in names {
                wanted = wanted.expression_attribute_names(*k, *v);
            }
            let wanted = wanted
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let mut out = self
                .client
                .batch_get_item()
                .request_items(&self.table, wanted)
                .send()
                .await
                .map_err(unavailable)?;
            found.extend(
                out.responses
                    .take()
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default(),
            );
            pending = out
                .unprocessed_keys
                .take()
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(found);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20 << round.min(5))).await;
        }
        Err(StoreError::Unavailable(
            "batch read kept being throttled".into(),
        ))
    }

    /// The conversation's item, read strongly consistent (a transition is decided
    /// from it).
    pub(super) async fn read_conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<Item>, StoreError> {
        self.read_conversation_as(id, true).await
    }

    /// The conversation's item, read strongly consistent or not (half the units).
    pub(super) async fn read_conversation_as(
        &self,
        id: &ConversationId,
        consistent: bool,
    ) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(conversation_key(id)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(unavailable)?
            .item)
    }

    /// The provider id link item, read strongly consistent (it decides races).
    pub(super) async fn provider_link(&self, link_pk: &str) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(link_pk))
            .key(SK, s("PMSG"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?
            .item)
    }

    /// Runs a transaction. One that DynamoDB cancels because another request was
    /// writing the same item at that moment (`TransactionConflict`) is run again:
    /// a cancelled transaction wrote nothing, so this is safe.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), TransactFailure> {
        let mut round = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let Err(e) = result else {
                return Ok(());
            };
            let reasons: Vec<Option<String>> = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            let failed: Vec<usize> = reasons
                .iter()
                .enumerate()
                .filter(|(_, code)| code.as_deref() == Some("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect();
            if !failed.is_empty() {
                return Err(TransactFailure::Condition(failed));
            }
            // Refused for good: the same request would be refused again.
            let invalid = reasons.iter().any(|code| {
                matches!(
                    code.as_deref(),
                    Some("ValidationError" | "ItemCollectionSizeLimitExceeded")
                )
            }) || super::expr::refused(&e);
            if invalid {
                return Err(TransactFailure::Store(StoreError::Invalid(
                    DisplayErrorContext(&e)
                        .to_string()
                        .chars()
                        .take(300)
                        .collect(),
                )));
            }
            let conflict = reasons
                .iter()
                .any(|code| code.as_deref() == Some("TransactionConflict"));
            round += 1;
            if !conflict || round >= RACE_ROUNDS {
                return Err(TransactFailure::Store(unavailable(e)));
            }
            // Let the other writer finish: 20 ms, then 40 ms, plus up to 20 ms jitter.
            let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 20;
            tokio::time::sleep(std::time::Duration::from_millis((10 << round) + jitter)).await;
        }
    }
}

pub(super) enum TransactFailure {
    /// Indexes of the items whose condition failed.
    Condition(Vec<usize>),
    Store(StoreError),
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn unavailable<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

pub(super) fn to_item<T: serde::Serialize>(v: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Raw JSON of rejections is kept up to this size (the item limit is 400 KB).
pub(super) const MAX_RAW_BYTES: usize = 300_000;
/// Rejected webhook elements are kept for a month.
pub(super) const REJECTION_TTL_SECS: i64 = 30 * 24 * 3600;

/// An item that points at `message`'s conversation (a thread or provider id link).
pub(super) fn link_item(
    pk: String,
    sk: &str,
    item_type: &str,
    message: &Message,
    expires_at: i64,
) -> Item {
    Item::from([
        (PK.into(), s(pk)),
        (SK.into(), s(sk)),
        ("item_type".into(), s(item_type)),
        (
            "conversation_id".into(),
            s(message.conversation_id.as_str()),
        ),
        (EXPIRES_AT.into(), n(expires_at)),
    ])
}

pub(super) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// An edit's new text on `update` (when it has one); the first edit keeps the text
/// as received in `original_text`.
pub(super) fn with_edited_text(
    update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    set: &mut Vec<&'static str>,
    text: Option<&str>,
) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
    let Some(text) = text else {
        return update;
    };
    set.extend(["#ot = if_not_exists(#ot, #tx)", "#tx = :tx"]);
    update
        .expression_attribute_names("#ot", "original_text")
        .expression_attribute_names("#tx", "text")
        .expression_attribute_values(":tx", s(text))
}

/// The message a provider link points to, if it is linked (not just a parked status).
pub(super) fn linked_message(link: &Item) -> Option<(&str, &str)> {
    let attr = |k: &str| link.get(k).and_then(|v| v.as_s().ok()).map(String::as_str);
    Some((attr("conversation_id")?, attr("message_sk")?))
}

pub(super) fn parked_rank(link: &Item) -> Option<u8> {
    link.get(PARKED_RANK)?.as_n().ok()?.parse().ok()
}

#[async_trait]
impl ConversationStore for DynamoStore {
    async fn record_inbound(
        &self,
        inbound: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        self.store_inbound(inbound, now).await
    }

    async fn record_edit(
        &self,
        edit: &MessageEdit,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        self.record_edit_impl(edit, now).await
    }

    async fn record_rejection(&self, r: &Rejection) -> Result<(), StoreError> {
        self.record_rejection_impl(r).await
    }

    async fn mark_blocked(
        &self,
        id: &ConversationId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.mark_blocked_impl(id, now).await
    }

    async fn apply_status(&self, update: &StatusUpdate) -> Result<StatusApplied, StoreError> {
        self.apply_status_impl(update).await
    }

    async fn queue_page(
        &self,
        query: &QueueQuery,
        reply_by: ReplyBy<'_>,
        now: DateTime<Utc>,
    ) -> Result<QueuePage, StoreError> {
        self.queue(query, reply_by, now).await
    }

    async fn get_conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        self.get_conversation_impl(id).await
    }

    async fn get_thread(&self, id: &ConversationId) -> Result<Option<Thread>, StoreError> {
        self.get_thread_impl(id).await
    }

    async fn thread_page(
        &self,
        id: &ConversationId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Option<ThreadPage>, StoreError> {
        self.thread_page_impl(id, limit, cursor).await
    }

    async fn record_outbound(
        &self,
        message: &Message,
        effect: OutboundEffect,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.record_outbound_impl(message, effect, now).await
    }

    async fn record_sending(&self, message: &Message) -> Result<(), StoreError> {
        self.record_sending_impl(message).await
    }

    async fn erase_conversation(
        &self,
        id: &ConversationId,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::ports::Erased>, StoreError> {
        self.erase(id, agent, now).await
    }

    async fn keep_for_redrive(
        &self,
        message: &Message,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.put_redrive(message, now).await
    }

    async fn kept_for_redrive(&self, limit: i32) -> Result<Vec<Message>, StoreError> {
        self.query_redrive(limit).await
    }

    async fn redriven(&self, message: &Message) -> Result<(), StoreError> {
        self.delete_redrive(message).await
    }

    async fn change_state(
        &self,
        id: &ConversationId,
        change: &StateChange,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        self.change(id, change, now).await
    }

    async fn wake_snoozed(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.wake(now).await
    }

    async fn claim_idempotency(
        &self,
        key: &str,
        body_hash: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.claim_idempotency_impl(key, body_hash, now, lease_until, expires_at)
            .await
    }

    async fn get_idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get_idempotency_impl(key).await
    }

    async fn finish_idempotency(
        &self,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        self.finish_idempotency_impl(key, status, body).await
    }

    async fn release_idempotency(&self, key: &str) -> Result<(), StoreError> {
        self.release_idempotency_impl(key).await
    }

    async fn find_thread(
        &self,
        channel: Channel,
        business_id: &str,
        token: Option<&ConversationId>,
        keys: &[String],
    ) -> Result<Vec<ThreadCandidate>, StoreError> {
        self.find_thread_impl(channel, business_id, token, keys)
            .await
    }
}
