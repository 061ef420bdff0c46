//! Idempotency keys of the agent API: claimed by a conditional write, leased while
//! in flight, keeping the answer for a day.

use super::items::*;
use super::{ConversationStore, StoreError};
use crate::ports::IdempotencyRecord;
use chrono::{DateTime, Utc};

use super::dynamo::*;
use super::expr::condition_failed;

impl DynamoStore {
    pub(super) async fn claim_idempotency_impl(
        &self,
        key: &str,
        body_hash: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
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
            Err(e) if condition_failed(&e) => {
                // Lost the race: what the winner holds (it cannot vanish in between
                // but by release, which a retry then claims).
                match self.get_idempotency(key).await? {
                    Some(r) => Ok(Some(r)),
                    None => {
                        Box::pin(self.claim_idempotency(
                            key,
                            body_hash,
                            now,
                            lease_until,
                            expires_at,
                        ))
                        .await
                    }
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    pub(super) async fn get_idempotency_impl(
        &self,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
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

    pub(super) async fn finish_idempotency_impl(
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

    pub(super) async fn release_idempotency_impl(&self, key: &str) -> Result<(), StoreError> {
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

    pub(super) fn idempotency_record(item: &Item) -> Result<IdempotencyRecord, StoreError> {
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
}
