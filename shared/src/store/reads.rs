//! Reading a conversation and its thread.

use super::items::*;
use super::{ConversationStore, StoreError, Thread, ThreadPage};
use crate::conversation::{Conversation, ConversationId};

use super::dynamo::*;

impl DynamoStore {
    pub(super) async fn get_conversation_impl(
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

    pub(super) async fn get_thread_impl(
        &self,
        id: &ConversationId,
    ) -> Result<Option<Thread>, StoreError> {
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

    pub(super) async fn thread_page_impl(
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
}
