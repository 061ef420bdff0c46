//! Messages whose auto-reply failed for good in the stream (its retries are spent),
//! kept with everything needed to try again later: the stream keeps records 24
//! hours and its failure queue names only their position (docs/operations.md,
//! "Failures and redrive").

use super::StoreError;
use super::dynamo::{DynamoStore, Item};
use super::items::{EXPIRES_AT, MessageItem, PK, SK, from_item};
use crate::conversation::Message;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

/// The partition of the kept messages.
pub const REDRIVE_PK: &str = "REDRIVE#auto-reply";
/// They are kept as long as the failure queue keeps its records (14 days).
const REDRIVE_TTL_DAYS: i64 = 14;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn unavailable<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

fn redrive_sk(message: &Message) -> String {
    format!("{}|{}", message.conversation_id, message.id)
}

impl DynamoStore {
    pub(super) async fn put_redrive(
        &self,
        message: &Message,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut item: Item = serde_dynamo::to_item(MessageItem::new(message))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        item.insert(PK.into(), s(REDRIVE_PK));
        item.insert(SK.into(), s(redrive_sk(message)));
        // Not a message: the stream filter passes only `item_type=message`.
        item.insert("item_type".into(), s("redrive"));
        item.insert(
            EXPIRES_AT.into(),
            AttributeValue::N(
                (now + Duration::days(REDRIVE_TTL_DAYS))
                    .timestamp()
                    .to_string(),
            ),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(super) async fn query_redrive(&self, limit: i32) -> Result<Vec<Message>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(REDRIVE_PK))
            .limit(limit)
            .send()
            .await
            .map_err(unavailable)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|i| from_item::<_, MessageItem>(i).map(|m| m.message))
            .collect()
    }

    pub(super) async fn delete_redrive(&self, message: &Message) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(REDRIVE_PK))
            .key(SK, s(redrive_sk(message)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
