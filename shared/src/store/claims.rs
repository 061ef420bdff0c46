//! The auto-reply's claims: one item per customer that owns the period's auto-reply
//! (`autoreply` decides, this writes it conditioned on the revision read), the
//! deployment's hourly count in shards, and the per-sender intake count.

use super::StoreError;
use super::items::*;
use crate::autoreply::{Claim, Stage};
use crate::conversation::{ConversationId, Message};
use crate::ports::{AutoReplyClaims, ClaimWrite, HourlyTake, MessageKey};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::dynamo::*;
use super::expr::condition_failed;

const CLAIM_SK: &str = "CLAIM";

fn hour_shard_pk(shard: u32) -> String {
    format!("{AUTO_REPLY_HOURS_PK}#{shard}")
}

fn num<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

fn millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// The claim item's attributes (the only place they are mapped).
fn claim_item(customer: &ConversationId, claim: &Claim, expires_at: DateTime<Utc>) -> Item {
    let stage = match claim.stage {
        Stage::Sending => "sending",
        Stage::Waiting => "waiting",
    };
    Item::from([
        (PK.into(), s(auto_reply_pk(customer))),
        (SK.into(), s(CLAIM_SK)),
        ("item_type".into(), s(TYPE_AUTO_REPLY_CLAIM)),
        ("period".into(), s(&claim.period)),
        ("answers".into(), s(&claim.answers)),
        ("reply_id".into(), s(&claim.reply_id)),
        ("reply_at".into(), n(claim.reply_at.timestamp_millis())),
        ("stage".into(), s(stage)),
        ("attempts".into(), n(claim.attempts)),
        (
            "recent".into(),
            AttributeValue::L(
                claim
                    .recent
                    .iter()
                    .map(|t| n(t.timestamp_millis()))
                    .collect(),
            ),
        ),
        ("rev".into(), n(claim.rev)),
        (EXPIRES_AT.into(), n(expires_at.timestamp())),
    ])
}

fn claim_from_item(item: &Item) -> Result<Claim, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("auto-reply claim without {what}"));
    let stage = match text(item, "stage").as_deref() {
        Some("sending") => Stage::Sending,
        Some("waiting") => Stage::Waiting,
        _ => return Err(corrupt("a stage")),
    };
    let recent = match item.get("recent") {
        Some(AttributeValue::L(l)) => l
            .iter()
            .filter_map(|v| v.as_n().ok()?.parse().ok())
            .filter_map(millis)
            .collect(),
        _ => Vec::new(),
    };
    Ok(Claim {
        period: text(item, "period").ok_or_else(|| corrupt("a period"))?,
        answers: text(item, "answers").ok_or_else(|| corrupt("an owner"))?,
        reply_id: text(item, "reply_id").ok_or_else(|| corrupt("a reply id"))?,
        reply_at: num(item, "reply_at")
            .and_then(millis)
            .ok_or_else(|| corrupt("a reply time"))?,
        stage,
        attempts: num(item, "attempts").unwrap_or(0),
        recent,
        rev: num(item, "rev").ok_or_else(|| corrupt("a revision"))?,
    })
}

impl DynamoStore {
    pub(super) async fn read_claim_impl(
        &self,
        customer: &ConversationId,
    ) -> Result<Option<Claim>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(auto_reply_pk(customer)))
            .key(SK, s(CLAIM_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?
            .item;
        item.as_ref().map(claim_from_item).transpose()
    }

    pub(super) async fn write_claim_impl(
        &self,
        customer: &ConversationId,
        claim: &Claim,
        expected: Option<u64>,
        take: Option<&HourlyTake>,
        expires_at: DateTime<Utc>,
    ) -> Result<ClaimWrite, StoreError> {
        let item = claim_item(customer, claim, expires_at);
        let (condition, values) = match expected {
            None => ("attribute_not_exists(pk)", Vec::new()),
            Some(rev) => ("rev = :rev", vec![(":rev", n(rev))]),
        };
        let Some(take) = take else {
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition);
            for (k, v) in values {
                put = put.expression_attribute_values(k, v);
            }
            return match put.send().await {
                Ok(_) => Ok(ClaimWrite::Written),
                Err(e) if condition_failed(&e) => Ok(ClaimWrite::Raced),
                Err(e) => Err(unavailable(e)),
            };
        };
        let items = vec![
            self.put_if(item, Some(condition), values)?,
            self.hourly_take(take)?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(ClaimWrite::Written),
            Err(TransactFailure::Condition(failed)) if failed.contains(&0) => Ok(ClaimWrite::Raced),
            Err(TransactFailure::Condition(_)) => Ok(ClaimWrite::HourlyCapReached),
            Err(TransactFailure::Store(e)) => Err(e),
        }
    }

    /// Counts `take.count` in the hour's shard unless that passes its share.
    fn hourly_take(&self, take: &HourlyTake) -> Result<TransactWriteItem, StoreError> {
        let limit = i64::from(take.share) - i64::from(take.count);
        let update = Update::builder()
            .table_name(&self.table)
            .key(PK, s(hour_shard_pk(take.shard)))
            .key(SK, s(format!("HOUR#{}", take.hour)))
            .update_expression("SET #ty = :ty, #e = :e ADD #c :k")
            .condition_expression("attribute_not_exists(#c) OR #c <= :limit")
            .expression_attribute_names("#ty", "item_type")
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_names("#c", "count")
            .expression_attribute_values(":ty", s(TYPE_AUTO_REPLY_CLAIM))
            .expression_attribute_values(":e", n(take.expires_at.timestamp()))
            .expression_attribute_values(":k", n(take.count))
            .expression_attribute_values(":limit", n(limit))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub(super) async fn get_message_impl(
        &self,
        key: &MessageKey,
    ) -> Result<Option<Message>, StoreError> {
        let sk = message_key_sk(key.sent_at, &key.id);
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(conversation_pk(&key.conversation)))
            .key(SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?
            .item;
        match item {
            None => Ok(None),
            Some(item) => Ok(Some(from_item::<_, MessageItem>(item)?.message)),
        }
    }

    pub(super) async fn count_intake_impl(
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

    pub(super) async fn mark_flood_impl(&self, message: &Message) -> Result<(), StoreError> {
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
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl AutoReplyClaims for DynamoStore {
    async fn read_claim(&self, customer: &ConversationId) -> Result<Option<Claim>, StoreError> {
        self.read_claim_impl(customer).await
    }

    async fn write_claim(
        &self,
        customer: &ConversationId,
        claim: &Claim,
        expected: Option<u64>,
        take: Option<&HourlyTake>,
        expires_at: DateTime<Utc>,
    ) -> Result<ClaimWrite, StoreError> {
        self.write_claim_impl(customer, claim, expected, take, expires_at)
            .await
    }

    async fn get_message(&self, key: &MessageKey) -> Result<Option<Message>, StoreError> {
        self.get_message_impl(key).await
    }

    async fn count_intake(
        &self,
        customer: &ConversationId,
        minute: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.count_intake_impl(customer, minute, expires_at).await
    }

    async fn mark_flood(&self, message: &Message) -> Result<(), StoreError> {
        self.mark_flood_impl(message).await
    }
}
