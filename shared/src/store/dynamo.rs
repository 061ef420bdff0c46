//! The DynamoDB adapter of the store port. Conditional writes decide every race;
//! each method's request count is documented in docs/data-model.md.

pub use super::cursors::{decode_thread_cursor, encode_thread_cursor};
use super::items::*;
use super::{
    ConversationStore, OutboundEffect, Recorded, StatusApplied, StoreError, Thread, ThreadPage,
};
use crate::conversation::{
    Channel, Conversation, ConversationId, Delivery, Edit, InboundMessage, Message, MessageEdit,
    Rejection, StatusUpdate,
};
use crate::ports::{
    AutoReplyClaim, IdempotencyRecord, QueuePage, QueueQuery, ReplyBy, StateChange,
    THREAD_CANDIDATES_MAX, ThreadCandidate,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use sha2::Digest;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// Dedupe items outlive Meta's 7 days of webhook retries.
pub(super) const DEDUPE_TTL_SECS: i64 = 8 * 24 * 3600;
/// Status callbacks for a sent message arrive within days; keep the link for 30.
const PROVIDER_LINK_TTL_SECS: i64 = 30 * 24 * 3600;
/// A status that overtook its message's final write waits this long to be claimed.
const PARKED_STATUS_TTL_SECS: i64 = 24 * 3600;
/// Attributes of a provider link item that holds a parked status (no message yet).
const PARKED_DELIVERY: &str = "parked_delivery";
const PARKED_RANK: &str = "parked_rank";
/// A customer may answer an email thread long after it went quiet.
const THREAD_LINK_TTL_SECS: i64 = 2 * 366 * 24 * 3600;
/// Edits a message keeps in its history (the newest; the first text stays in
/// `original_text`), so that no item nears 400 KB.
pub const MAX_EDITS: usize = 20;
/// A rolling-day auto-reply slot is taken for this long.
const AUTO_REPLY_SLOT_SECS: i64 = 24 * 3600;
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

    /// Builds the client from the standard AWS environment (region, credentials,
    /// `AWS_ENDPOINT_URL[_DYNAMODB]`). Call once, at cold start.
    pub async fn from_env(table: impl Into<String>) -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::new(Client::new(&config), table)
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

    fn put_if(
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

    /// The conversation's item, read strongly consistent (a transition is decided
    /// from it).
    pub(super) async fn read_conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(conversation_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?
            .item)
    }

    /// The provider id link item, read strongly consistent (it decides races).
    async fn provider_link(&self, link_pk: &str) -> Result<Option<Item>, StoreError> {
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
            }) || e
                .as_service_error()
                .and_then(|se| aws_sdk_dynamodb::error::ProvideErrorMetadata::code(se))
                == Some("ValidationException");
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

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn unavailable<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

pub(super) fn to_item<T: serde::Serialize>(v: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Raw JSON of rejections is kept up to this size (the item limit is 400 KB).
const MAX_RAW_BYTES: usize = 300_000;
/// Rejected webhook elements are kept for a month.
const REJECTION_TTL_SECS: i64 = 30 * 24 * 3600;

/// An item that points at `message`'s conversation (a thread or provider id link).
fn link_item(pk: String, sk: &str, item_type: &str, message: &Message, expires_at: i64) -> Item {
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

fn truncate(s: &str, max: usize) -> &str {
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
fn with_edited_text(
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
fn linked_message(link: &Item) -> Option<(&str, &str)> {
    let attr = |k: &str| link.get(k).and_then(|v| v.as_s().ok()).map(String::as_str);
    Some((attr("conversation_id")?, attr("message_sk")?))
}

fn parked_rank(link: &Item) -> Option<u8> {
    link.get(PARKED_RANK)?.as_n().ok()?.parse().ok()
}

fn update_condition_failed<R>(e: &SdkError<UpdateItemError, R>) -> bool {
    e.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
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
        let m = &edit.message;
        let edits = serde_dynamo::to_attribute_value(vec![Edit {
            edited_at: edit.edited_at,
            text: m.text().map(str::to_string),
        }])
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(conversation_pk(&m.conversation_id)))
            .key(SK, s(message_sk(m)))
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(#le) OR #le < :le) \
                 AND (attribute_not_exists(#ed) OR size(#ed) < :max)",
            )
            .expression_attribute_names("#le", "last_edit_at")
            .expression_attribute_names("#ed", "edits")
            .expression_attribute_values(":le", n(edit.edited_at.timestamp_millis()))
            .expression_attribute_values(":max", n(MAX_EDITS))
            .expression_attribute_values(":ed", edits)
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            );
        let mut set = vec![
            "#le = :le",
            "#ed = list_append(if_not_exists(#ed, :none), :ed)",
        ];
        let update = with_edited_text(update, &mut set, m.text());
        match update
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await
        {
            Ok(_) => Ok(Recorded::Stored),
            Err(e) if update_condition_failed(&e) => {
                let old = e.as_service_error().and_then(|e| match e {
                    UpdateItemError::ConditionalCheckFailedException(c) => c.item(),
                    _ => None,
                });
                if let Some(old) = old {
                    let last = old
                        .get("last_edit_at")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse::<i64>().ok());
                    if last.is_some_and(|l| l >= edit.edited_at.timestamp_millis()) {
                        return Ok(Recorded::Duplicate);
                    }
                    // The history is full: keep the newest edits (the text as first
                    // received stays in `original_text`).
                    return self.replace_edit_history(edit, old, last).await;
                }
                // An edit of a message we never stored: store it as it reads now,
                // with this edit in its history (so a redelivery is recognised).
                let mut message = m.clone();
                message.edits = vec![Edit {
                    edited_at: edit.edited_at,
                    text: m.text().map(str::to_string),
                }];
                let inbound = InboundMessage {
                    message,
                    customer: edit.customer.clone(),
                    dedupe_keys: Vec::new(),
                    blocked: None,
                    group: false,
                    thread_lookup: Vec::new(),
                    thread_token: None,
                    authenticated_sender: None,
                    related_to: None,
                };
                self.record_inbound(&inbound, now).await
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn record_rejection(&self, r: &Rejection) -> Result<(), StoreError> {
        // Keyed by the content, so a redelivery overwrites instead of adding.
        let digest = hex::encode(&sha2::Sha256::digest(r.raw.as_bytes())[..16]);
        let mut item = Item::from([
            (PK.into(), s(rejection_pk(r.channel))),
            (SK.into(), s(digest)),
            ("received_at".into(), n(r.received_at.timestamp_millis())),
            ("item_type".into(), s(TYPE_REJECTION)),
            ("path".into(), s(&r.path)),
            ("reason".into(), s(&r.reason)),
            ("raw".into(), s(truncate(&r.raw, MAX_RAW_BYTES))),
            (
                EXPIRES_AT.into(),
                n(r.received_at.timestamp() + REJECTION_TTL_SECS),
            ),
        ]);
        if let Some(b) = &r.business_id {
            item.insert("business_id".into(), s(b));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn mark_blocked(
        &self,
        id: &ConversationId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(conversation_pk(id)))
            .key(SK, s(META))
            .update_expression("SET #bl = :t, #ua = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#bl", "blocked")
            .expression_attribute_names("#ua", "updated_at")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .send()
            .await
            .map_err(|e| {
                if update_condition_failed(&e) {
                    StoreError::NotFound(format!("conversation {id}"))
                } else {
                    unavailable(e)
                }
            })?;
        Ok(())
    }

    async fn apply_status(&self, update: &StatusUpdate) -> Result<StatusApplied, StoreError> {
        let link_pk = provider_link_pk(
            update.channel,
            &update.business_id,
            &update.provider_message_id,
        );
        let delivery = Delivery {
            state: update.state,
            at: update.at,
            error: update.error.clone(),
        };
        let delivery = serde_dynamo::to_attribute_value(&delivery)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let rank = update.state.rank();
        for _ in 0..RACE_ROUNDS {
            let link = self.provider_link(&link_pk).await?;
            if let Some((conversation, message_sk)) = link.as_ref().and_then(linked_message) {
                let conversation = ConversationId::parse(conversation).ok_or_else(|| {
                    StoreError::Corrupt("provider link with a bad conversation id".into())
                })?;
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(PK, s(conversation_pk(&conversation)))
                    .key(SK, s(message_sk))
                    .update_expression("SET #d = :d, #r = :r")
                    .condition_expression(
                        "attribute_exists(pk) AND (attribute_not_exists(#r) OR #r < :r)",
                    )
                    .expression_attribute_names("#d", "delivery")
                    .expression_attribute_names("#r", "delivery_rank")
                    .expression_attribute_values(":d", delivery)
                    .expression_attribute_values(":r", n(rank))
                    .send()
                    .await;
                return match result {
                    Ok(_) => {
                        if update.state == crate::conversation::DeliveryState::Failed {
                            self.reopen_for_failure(&conversation, update.at).await?;
                        }
                        Ok(StatusApplied::Applied)
                    }
                    Err(e) if update_condition_failed(&e) => Ok(StatusApplied::Stale),
                    Err(e) => Err(unavailable(e)),
                };
            }
            // No message carries this provider id yet: the status overtook the final
            // write of its message (which takes it over), or the message was not sent
            // through asyncdesk (the parked status expires). Only a later state
            // replaces a parked one, and none once the message is linked.
            if link.as_ref().and_then(parked_rank) >= Some(rank) {
                return Ok(StatusApplied::Stale);
            }
            let parked = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(&link_pk))
                .key(SK, s("PMSG"))
                .update_expression("SET #ty = :ty, #d = :d, #r = :r, #x = :x")
                .condition_expression(
                    "attribute_not_exists(conversation_id) AND (attribute_not_exists(#r) OR #r < :r)",
                )
                .expression_attribute_names("#ty", "item_type")
                .expression_attribute_names("#d", PARKED_DELIVERY)
                .expression_attribute_names("#r", PARKED_RANK)
                .expression_attribute_names("#x", EXPIRES_AT)
                .expression_attribute_values(":ty", s(TYPE_PROVIDER_LINK))
                .expression_attribute_values(":d", delivery.clone())
                .expression_attribute_values(":r", n(rank))
                .expression_attribute_values(
                    ":x",
                    n(update.at.timestamp() + PARKED_STATUS_TTL_SECS),
                )
                .send()
                .await;
            match parked {
                Ok(_) => return Ok(StatusApplied::Parked),
                // Linked or overtaken meanwhile: look again.
                Err(e) if update_condition_failed(&e) => continue,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "provider link {link_pk} kept changing"
        )))
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
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(conversation_pk(id)))
            .key(SK, s(META))
            .send()
            .await
            .map_err(unavailable)?;
        out.item
            .map(|i| from_item::<_, ConversationItem>(i).map(Conversation::from))
            .transpose()
    }

    async fn get_thread(&self, id: &ConversationId) -> Result<Option<Thread>, StoreError> {
        let mut conversation = None;
        let mut messages = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(conversation_pk(id)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                match item
                    .get("item_type")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                {
                    Some(TYPE_CONVERSATION) => {
                        conversation = Some(Conversation::from(from_item::<_, ConversationItem>(
                            item.clone(),
                        )?))
                    }
                    Some(TYPE_MESSAGE) => {
                        messages.push(from_item::<_, MessageItem>(item.clone())?.message)
                    }
                    _ => {}
                }
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        Ok(conversation.map(|conversation| Thread {
            conversation,
            messages,
        }))
    }

    async fn thread_page(
        &self,
        id: &ConversationId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Option<ThreadPage>, StoreError> {
        let start = cursor.map(|c| decode_thread_cursor(c, id)).transpose()?;
        let Some(conversation) = self.get_conversation(id).await? else {
            return Ok(None);
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :msg)")
            .expression_attribute_values(":pk", s(conversation_pk(id)))
            .expression_attribute_values(":msg", s("MSG#"))
            .scan_index_forward(false)
            .limit(limit.clamp(1, 1000) as i32);
        if let Some(sk) = start {
            query = query
                .exclusive_start_key(PK, s(conversation_pk(id)))
                .exclusive_start_key(SK, s(sk));
        }
        let out = query.send().await.map_err(unavailable)?;
        let mut messages = Vec::new();
        for item in out.items() {
            messages.push(from_item::<_, MessageItem>(item.clone())?.message);
        }
        let next_cursor = out
            .last_evaluated_key()
            .and_then(|k| k.get(SK))
            .and_then(|v| v.as_s().ok())
            .map(|sk| encode_thread_cursor(id, sk));
        Ok(Some(ThreadPage {
            conversation,
            messages,
            next_cursor,
        }))
    }

    async fn record_outbound(
        &self,
        message: &Message,
        effect: OutboundEffect,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut message = message.clone();
        // The rank of a parked status this write takes over (see `apply_status`).
        let mut taking_over: Option<u8> = None;
        for _ in 0..RACE_ROUNDS {
            let item = self.message_item(&message);
            // Replaces the message's `sending` record, if it has one (ids are fresh UUIDs).
            let mut items = vec![self.put(to_item(&item)?, None)?];
            let link_index = match &message.provider_message_id {
                Some(pid) => {
                    let pk = provider_link_pk(
                        message.endpoint.channel,
                        &message.endpoint.business_id,
                        pid,
                    );
                    let expires = now.timestamp() + PROVIDER_LINK_TTL_SECS;
                    let mut link = link_item(pk, "PMSG", TYPE_PROVIDER_LINK, &message, expires);
                    link.insert("message_sk".into(), s(&item.sk));
                    items.push(match taking_over {
                        None => self.put(link, Some("attribute_not_exists(pk)"))?,
                        Some(rank) => self.put_if(
                            link,
                            Some(&format!(
                                "attribute_not_exists(conversation_id) AND {PARKED_RANK} = :parked"
                            )),
                            vec![(":parked", n(rank))],
                        )?,
                    });
                    Some(items.len() - 1)
                }
                None => None,
            };
            items.extend(self.thread_links(&message, now)?);
            let conv_index = items.len();
            items.push(
                self.outbound_conversation_write(&message, effect, now)
                    .await?,
            );
            let failed = match self.transact(items).await {
                Ok(()) => return Ok(()),
                Err(TransactFailure::Store(e)) => return Err(e),
                Err(TransactFailure::Condition(failed)) => failed,
            };
            if failed.contains(&conv_index) {
                // A state change is read again and decided anew (a customer message
                // newer than the ones the reply answered keeps it open); a write
                // that needs only the conversation to exist found none.
                if super::outbound::is_transition(&message, effect) {
                    continue;
                }
                return Err(StoreError::NotFound(format!(
                    "conversation {}",
                    message.conversation_id
                )));
            }
            // Only the link's condition is left that can have failed.
            let link_failed = link_index.is_some_and(|i| failed.contains(&i));
            let Some(pid) = message
                .provider_message_id
                .as_deref()
                .filter(|_| link_failed)
            else {
                return Err(StoreError::Corrupt(format!(
                    "unexpected condition failure storing message {}",
                    message.id
                )));
            };
            // A status callback overtook this write and was parked on the link:
            // take it over into the message, then write again.
            let link = self
                .provider_link(&provider_link_pk(
                    message.endpoint.channel,
                    &message.endpoint.business_id,
                    pid,
                ))
                .await?
                .unwrap_or_default();
            if linked_message(&link).is_some() {
                return Err(StoreError::Corrupt(format!(
                    "provider message id {pid} is already linked to a message"
                )));
            }
            taking_over = parked_rank(&link);
            if let Some(parked) = link.get(PARKED_DELIVERY) {
                let parked: Delivery = serde_dynamo::from_attribute_value(parked.clone())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let current = message.delivery.as_ref().map_or(0, |d| d.state.rank());
                if parked.state.rank() > current {
                    message.delivery = Some(parked);
                }
            }
        }
        Err(StoreError::Unavailable(format!(
            "delivery statuses of message {} kept changing",
            message.id
        )))
    }

    async fn record_sending(&self, message: &Message) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&self.message_item(message))?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn claim_auto_reply(
        &self,
        customer: &ConversationId,
        period_key: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        daily_cap: u32,
    ) -> Result<AutoReplyClaim, StoreError> {
        let pk = auto_reply_pk(customer);
        let period = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(&pk))
            .item(SK, s(auto_reply_period_sk(period_key)))
            .item("item_type", s(TYPE_AUTO_REPLY_CLAIM))
            .item("claimed_at", n(now.timestamp_millis()))
            .item(EXPIRES_AT, n(expires_at.timestamp()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match period {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                return Ok(AutoReplyClaim::PeriodTaken);
            }
            Err(e) => return Err(unavailable(e)),
        }
        // A slot is free when it never was taken or its day has passed.
        let until = now.timestamp() + AUTO_REPLY_SLOT_SECS;
        for slot in 0..daily_cap {
            let taken = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(PK, s(&pk))
                .item(SK, s(auto_reply_slot_sk(slot)))
                .item("item_type", s(TYPE_AUTO_REPLY_CLAIM))
                .item("until", n(until))
                .item(EXPIRES_AT, n(until))
                .condition_expression("attribute_not_exists(pk) OR #u <= :now")
                .expression_attribute_names("#u", "until")
                .expression_attribute_values(":now", n(now.timestamp()))
                .send()
                .await;
            match taken {
                Ok(_) => return Ok(AutoReplyClaim::Claimed { slot }),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(e) => {
                    // Give the period back: the retry claims both again.
                    let _ = self.release_period(&pk, period_key).await;
                    return Err(unavailable(e));
                }
            }
        }
        Ok(AutoReplyClaim::DailyCapReached)
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

    async fn count_intake(
        &self,
        customer: &ConversationId,
        minute: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(format!("INTAKE#{customer}")))
            .key(SK, s(format!("MIN#{minute}")))
            .update_expression("SET #ty = :ty, #e = :e ADD #c :one")
            .expression_attribute_names("#ty", "item_type")
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_names("#c", "count")
            .expression_attribute_values(":ty", s("intake_count"))
            .expression_attribute_values(":e", n(expires_at.timestamp()))
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        out.attributes
            .and_then(|a| a.get("count").and_then(|v| v.as_n().ok()).cloned())
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| StoreError::Corrupt("intake count without a count".into()))
    }

    async fn mark_flood(&self, message: &Message) -> Result<(), StoreError> {
        let marked = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(conversation_pk(&message.conversation_id)))
            .key(SK, s(message_sk(message)))
            .update_expression("SET #f = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#f", "flood")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        match marked {
            Ok(_) => Ok(()),
            // Erased meanwhile: nothing to mark.
            Err(e) if update_condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn claim_hourly_auto_reply(
        &self,
        hour: &str,
        cap: u32,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(AUTO_REPLY_HOURS_PK))
            .key(SK, s(format!("HOUR#{hour}")))
            .update_expression("SET #ty = :ty, #e = :e ADD #c :one")
            .condition_expression("attribute_not_exists(#c) OR #c < :cap")
            .expression_attribute_names("#ty", "item_type")
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_names("#c", "count")
            .expression_attribute_values(":ty", s(TYPE_AUTO_REPLY_CLAIM))
            .expression_attribute_values(":e", n(expires_at.timestamp()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":cap", n(cap))
            .send()
            .await;
        match counted {
            Ok(_) => Ok(true),
            Err(e) if update_condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn release_auto_reply(
        &self,
        customer: &ConversationId,
        period_key: &str,
        slot: u32,
    ) -> Result<(), StoreError> {
        let pk = auto_reply_pk(customer);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(&pk))
            .key(SK, s(auto_reply_slot_sk(slot)))
            .send()
            .await
            .map_err(unavailable)?;
        self.release_period(&pk, period_key).await
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
        lease_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let now = Utc::now();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(idempotency_pk(key)))
            .item(SK, s("IDEMP"))
            .item("item_type", s(TYPE_IDEMPOTENCY))
            .item("state", s("in_flight"))
            .item("body_hash", s(body_hash))
            .item("lease_until", n(lease_until.timestamp_millis()))
            .item(EXPIRES_AT, n(expires_at.timestamp()))
            // A key past its day that TTL has not removed yet counts as free.
            .condition_expression("attribute_not_exists(pk) OR #e < :now")
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(None),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // Lost the race: what the winner holds (it cannot vanish in between
                // but by release, which a retry then claims).
                match self.get_idempotency(key).await? {
                    Some(r) => Ok(Some(r)),
                    None => {
                        Box::pin(self.claim_idempotency(key, body_hash, lease_until, expires_at))
                            .await
                    }
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get_idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(idempotency_pk(key)))
            .key(SK, s("IDEMP"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(Self::idempotency_record).transpose()
    }

    async fn finish_idempotency(
        &self,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(idempotency_pk(key)))
            .key(SK, s("IDEMP"))
            .update_expression("SET #s = :done, #st = :status, #r = :body REMOVE #l")
            .expression_attribute_names("#s", "state")
            // Not `status`: that name is the queue index's (string) key.
            .expression_attribute_names("#st", "http_status")
            .expression_attribute_names("#r", "response")
            .expression_attribute_names("#l", "lease_until")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":status", n(status))
            .expression_attribute_values(":body", s(truncate(body, 350 * 1024)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn release_idempotency(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(idempotency_pk(key)))
            .key(SK, s("IDEMP"))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn find_thread(
        &self,
        channel: Channel,
        business_id: &str,
        token: Option<&ConversationId>,
        keys: &[String],
    ) -> Result<Vec<ThreadCandidate>, StoreError> {
        let mut ids: Vec<ConversationId> = token.into_iter().cloned().collect();
        for id in self.linked_threads(channel, business_id, keys).await? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.truncate(THREAD_CANDIDATES_MAX);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let request_keys: Vec<Item> = ids
            .iter()
            .map(|id| Item::from([(PK.into(), s(conversation_pk(id))), (SK.into(), s(META))]))
            .collect();
        let found = self
            .batch_get(
                request_keys,
                "pk, #ch, business_id, customer_id, participants",
                &[("#ch", "channel")],
            )
            .await?;
        let mut by_pk: HashMap<String, ThreadCandidate> = HashMap::new();
        for item in found {
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
            let (Some(pk), Some(ch), Some(b), Some(customer_id)) = (
                text(PK),
                text("channel"),
                text("business_id"),
                text("customer_id"),
            ) else {
                continue;
            };
            if ch != channel.as_str() || b != business_id {
                continue;
            }
            let participants = item
                .get("participants")
                .and_then(|v| v.as_ss().ok())
                .cloned()
                .unwrap_or_default();
            let Some(id) = pk.strip_prefix("CONV#").and_then(ConversationId::parse) else {
                return Err(StoreError::Corrupt(format!("conversation key {pk:?}")));
            };
            by_pk.insert(
                pk,
                ThreadCandidate {
                    id,
                    customer_id,
                    participants,
                },
            );
        }
        Ok(ids
            .iter()
            .filter_map(|id| by_pk.remove(&conversation_pk(id)))
            .collect())
    }
}

impl DynamoStore {
    /// Applies `edit` to a message whose history is full (`old`, as read by the
    /// failed condition): the oldest edit makes room. Conditioned on the history
    /// being the one read, so a concurrent edit makes this one a duplicate to retry.
    async fn replace_edit_history(
        &self,
        edit: &MessageEdit,
        old: &Item,
        last: Option<i64>,
    ) -> Result<Recorded, StoreError> {
        let m = &edit.message;
        let mut history = old
            .get("edits")
            .and_then(|v| v.as_l().ok())
            .cloned()
            .unwrap_or_default();
        let added = serde_dynamo::to_attribute_value(Edit {
            edited_at: edit.edited_at,
            text: m.text().map(str::to_string),
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        history.push(added);
        let drop = history.len().saturating_sub(MAX_EDITS);
        history.drain(..drop);
        let mut set = vec!["#le = :le", "#ed = :ed"];
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(conversation_pk(&m.conversation_id)))
            .key(SK, s(message_sk(m)))
            .expression_attribute_names("#le", "last_edit_at")
            .expression_attribute_names("#ed", "edits")
            .expression_attribute_values(":le", n(edit.edited_at.timestamp_millis()))
            .expression_attribute_values(":ed", AttributeValue::L(history));
        update = match last {
            Some(last) => update
                .condition_expression("#le = :read")
                .expression_attribute_values(":read", n(last)),
            None => update.condition_expression("attribute_not_exists(#le)"),
        };
        let update = with_edited_text(update, &mut set, m.text());
        match update
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await
        {
            Ok(_) => Ok(Recorded::Stored),
            Err(e) if update_condition_failed(&e) => Ok(Recorded::Duplicate),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn idempotency_record(item: &Item) -> Result<IdempotencyRecord, StoreError> {
        let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let num = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
        };
        let body_hash = text("body_hash")
            .ok_or_else(|| StoreError::Corrupt("idempotency key without body_hash".into()))?;
        match (
            text("state").as_deref(),
            num("http_status"),
            text("response"),
        ) {
            (Some("done"), Some(status), Some(body)) => Ok(IdempotencyRecord::Done {
                body_hash,
                status: status as u16,
                body,
            }),
            (Some("in_flight"), _, _) => Ok(IdempotencyRecord::InFlight {
                body_hash,
                lease_until: num("lease_until")
                    .and_then(DateTime::from_timestamp_millis)
                    .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            }),
            _ => Err(StoreError::Corrupt("unreadable idempotency key".into())),
        }
    }

    async fn release_period(&self, pk: &str, period_key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(auto_reply_period_sk(period_key)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
