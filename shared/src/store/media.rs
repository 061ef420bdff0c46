//! What the media capture writes: the attachments of a stored media message, as
//! the capture left them (state, size, type, hash, object key).

use super::StoreError;
use super::dynamo::*;
use super::expr::condition_failed;
use super::items::*;
use crate::conversation::{Attachment, Message};
use crate::ports::{MediaRecords, MessageKey};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

#[async_trait]
impl MediaRecords for DynamoStore {
    async fn read_message(&self, key: &MessageKey) -> Result<Option<Message>, StoreError> {
        self.get_message_impl(key).await
    }

    async fn set_attachments(
        &self,
        key: &MessageKey,
        attachments: &[Attachment],
    ) -> Result<(), StoreError> {
        let list: AttributeValue = serde_dynamo::to_attribute_value(attachments)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(conversation_pk(&key.conversation)))
            .key(SK, s(message_key_sk(key.sent_at, &key.id)))
            .update_expression("SET #a = :a")
            .condition_expression("attribute_exists(pk) AND #k = :media")
            .expression_attribute_names("#a", "attachments")
            .expression_attribute_names("#k", "kind")
            .expression_attribute_values(":a", list)
            .expression_attribute_values(":media", AttributeValue::S("media".to_string()))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound(format!(
                "media message {} of {}",
                key.id, key.conversation
            ))),
            Err(e) => Err(unavailable(e)),
        }
    }
}
