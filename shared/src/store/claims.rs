//! Claims that keep auto-replies to at most one per off-hours period and within
//! the daily and hourly caps, and the per-sender intake count.

use super::StoreError;
use super::items::*;
use crate::conversation::{ConversationId, Message};
use crate::ports::AutoReplyClaim;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::dynamo::*;
use super::expr::condition_failed;

impl DynamoStore {
    pub(super) async fn claim_auto_reply_impl(
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
            Err(e) if condition_failed(&e) => {
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
                Err(e) if condition_failed(&e) => {}
                Err(e) => {
                    // Give the period back: the retry claims both again.
                    let _ = self.release_period(&pk, period_key).await;
                    return Err(unavailable(e));
                }
            }
        }
        Ok(AutoReplyClaim::DailyCapReached)
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

    pub(super) async fn claim_hourly_auto_reply_impl(
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
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub(super) async fn release_auto_reply_impl(
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

    pub(super) async fn release_period(
        &self,
        pk: &str,
        period_key: &str,
    ) -> Result<(), StoreError> {
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
