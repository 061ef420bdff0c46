//! GDPR erasure of one conversation: every item of its partition, the links whose
//! keys carry a channel's id, and an audit item (docs/data-model.md, "Erasure").

use super::StoreError;
use super::dynamo::{DynamoStore, Item};
use super::items::{PK, SK, conversation_pk, dedupe_pk, provider_link_pk};
use crate::conversation::{Channel, ConversationId};
use crate::ports::Erased;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use chrono::{DateTime, Utc};

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn unavailable<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

/// The audit items' partition.
pub const AUDIT_PK: &str = "AUDIT#erasure";

impl DynamoStore {
    pub(super) async fn erase(
        &self,
        id: &ConversationId,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Erased>, StoreError> {
        let items = self.partition(id).await?;
        if items.is_empty() {
            return Ok(None);
        }
        let text = |i: &Item, k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned();
        let mut keys: Vec<Item> = Vec::new();
        let mut erased = Erased {
            conversation: id.clone(),
            items: 0,
            messages: 0,
            sources: Vec::new(),
        };
        for item in &items {
            keys.push(Item::from([
                (PK.into(), s(text(item, PK).unwrap_or_default())),
                (SK.into(), s(text(item, SK).unwrap_or_default())),
            ]));
            if text(item, "item_type").as_deref() != Some("message") {
                continue;
            }
            erased.messages += 1;
            let channel = text(item, "channel").and_then(|c| Channel::parse(&c));
            let business = text(item, "business_id").unwrap_or_default();
            if let (Some(channel), Some(pid)) = (channel, text(item, "provider_message_id")) {
                keys.push(Item::from([
                    (PK.into(), s(provider_link_pk(channel, &business, &pid))),
                    (SK.into(), s("PMSG")),
                ]));
            }
            // WhatsApp's dedupe key is the wamid itself.
            if channel == Some(Channel::Whatsapp)
                && let Some(mid) = text(item, "id")
            {
                keys.push(Item::from([
                    (
                        PK.into(),
                        s(dedupe_pk(&format!("whatsapp#{business}#{mid}"))),
                    ),
                    (SK.into(), s("DEDUPE")),
                ]));
            }
            if let Some(source) = item
                .get("mail")
                .and_then(|m| m.as_m().ok())
                .and_then(|m| m.get("source"))
                .and_then(|v| v.as_s().ok())
            {
                erased.sources.push(source.clone());
            }
        }
        erased.items = keys.len();
        for chunk in keys.chunks(25) {
            self.delete_all(chunk.to_vec()).await?;
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(AUDIT_PK))
            .item(SK, s(format!("{}#{id}", now.to_rfc3339())))
            .item("item_type", s("audit"))
            .item("action", s("erasure"))
            .item("conversation_id", s(id.as_str()))
            .item("agent", s(agent))
            .item("items", AttributeValue::N(erased.items.to_string()))
            .item("messages", AttributeValue::N(erased.messages.to_string()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(Some(erased))
    }

    /// Every item of the conversation's partition (keys and the attributes erasure
    /// needs).
    async fn partition(&self, id: &ConversationId) -> Result<Vec<Item>, StoreError> {
        let mut all = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_values(":pk", s(conversation_pk(id)))
                .projection_expression("#pk, #sk, #ty, #ch, #b, #pid, #id, #mail.#src")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_names("#ty", "item_type")
                .expression_attribute_names("#ch", "channel")
                .expression_attribute_names("#b", "business_id")
                .expression_attribute_names("#pid", "provider_message_id")
                .expression_attribute_names("#id", "id")
                .expression_attribute_names("#mail", "mail")
                .expression_attribute_names("#src", "source")
                .set_exclusive_start_key(start.take())
                .consistent_read(true)
                .send()
                .await
                .map_err(unavailable)?;
            all.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(all),
            }
        }
    }

    /// Deletes `keys` (at most 25), again for what DynamoDB left unprocessed.
    async fn delete_all(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        let mut requests: Vec<WriteRequest> = keys
            .into_iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(|e| StoreError::Unavailable(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        for round in 0..5 {
            if requests.is_empty() {
                return Ok(());
            }
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(unavailable)?;
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if !requests.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(50 << round)).await;
            }
        }
        if requests.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Unavailable(
                "erasure writes were throttled".into(),
            ))
        }
    }
}
