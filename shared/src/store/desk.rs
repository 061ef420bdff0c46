//! The desk's items: saved replies (one partition, a team's few hundred snippets)
//! and the change feed (a query of each `by_change` partition, then one batch read
//! of the conversations it names).

use super::dynamo::*;
use super::expr::condition_failed;
use super::items::*;
use crate::conversation::Conversation;
use crate::ports::{Changes, DeskStore, SavedReply, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl DeskStore for DynamoStore {
    async fn saved_replies(&self) -> Result<Vec<SavedReply>, StoreError> {
        let mut all = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(SAVED_REPLIES_PK))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                all.push(from_item::<_, SavedReplyItem>(item.clone())?.reply);
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        all.sort_by_key(|r| r.title.to_lowercase());
        Ok(all)
    }

    async fn put_saved_reply(&self, reply: &SavedReply, create: bool) -> Result<(), StoreError> {
        let item = to_item(&SavedReplyItem::new(reply))?;
        let condition = if create {
            "attribute_not_exists(pk)"
        } else {
            "attribute_exists(pk)"
        };
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) && create => Err(StoreError::Invalid(format!(
                "saved reply {} exists",
                reply.id
            ))),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound(reply.id.clone())),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete_saved_reply(&self, id: &str) -> Result<(), StoreError> {
        match self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(SAVED_REPLIES_PK))
            .key(SK, s(id))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound(id.to_string())),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn changed_since(&self, after: DateTime<Utc>, limit: i32) -> Result<Changes, StoreError> {
        let queries = (0..CHANGE_SHARDS).map(|shard| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(CHANGE_INDEX)
                .key_condition_expression("#ch = :ch AND #ca > :after")
                .expression_attribute_names("#ch", CH)
                .expression_attribute_names("#ca", CH_AT)
                .expression_attribute_values(":ch", s(format!("CH#{shard}")))
                .expression_attribute_values(":after", n(after.timestamp_millis()))
                .limit(limit)
                .send()
        });
        let mut changes = Changes::default();
        // The index holds keys only (a conversation write moves a ~100-byte entry,
        // 1 write unit each way); the changed conversations are then read in full.
        let mut keys: Vec<Item> = Vec::new();
        for out in futures_util::future::join_all(queries).await {
            let out = out.map_err(unavailable)?;
            changes.truncated |= out.last_evaluated_key.is_some();
            for entry in out.items() {
                let key: Item = [PK, SK]
                    .iter()
                    .filter_map(|k| entry.get(*k).map(|v| (k.to_string(), v.clone())))
                    .collect();
                if key.len() == 2 && !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        for chunk in keys.chunks(100) {
            for item in self.batch_get(chunk.to_vec(), None, &[]).await? {
                changes
                    .conversations
                    .push(Conversation::from(from_item::<_, ConversationItem>(item)?));
            }
        }
        changes.conversations.sort_by_key(|c| c.updated_at);
        Ok(changes)
    }
}
