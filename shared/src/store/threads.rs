//! Email threads in the table: the links that find a thread's conversation and the
//! reads behind `find_thread` (see docs/data-model.md, "Email threads").

use super::StoreError;
use super::dynamo::{DynamoStore, Item};
use super::items::*;
use crate::conversation::{Channel, ConversationId};
use crate::ports::{THREAD_CANDIDATES_MAX, ThreadCandidate};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// At most this many thread keys are looked up for one message (the newest).
const THREAD_LOOKUP_MAX: usize = 25;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

impl DynamoStore {
    /// The conversations thread links name under `keys`, in the keys' order.
    pub(super) async fn linked_threads(
        &self,
        channel: Channel,
        business_id: &str,
        keys: &[String],
    ) -> Result<Vec<ConversationId>, StoreError> {
        let mut wanted: Vec<&String> = Vec::new();
        for key in keys {
            if !wanted.contains(&key) && wanted.len() < THREAD_LOOKUP_MAX {
                wanted.push(key);
            }
        }
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let request_keys: Vec<Item> = wanted
            .iter()
            .map(|k| {
                Item::from([
                    (PK.into(), s(thread_link_pk(channel, business_id, k))),
                    (SK.into(), s("THREAD")),
                ])
            })
            .collect();
        let found: HashMap<String, String> = self
            .batch_get(request_keys, Some("pk, conversation_id"), &[])
            .await?
            .into_iter()
            .filter_map(|item| {
                let pk = item.get(PK)?.as_s().ok()?.clone();
                let id = item.get("conversation_id")?.as_s().ok()?.clone();
                Some((pk, id))
            })
            .collect();
        wanted
            .into_iter()
            .filter_map(|key| found.get(&thread_link_pk(channel, business_id, key)))
            .map(|id| {
                ConversationId::parse(id)
                    .ok_or_else(|| StoreError::Corrupt(format!("thread link to {id:?}")))
            })
            .collect()
    }
}

impl DynamoStore {
    pub(super) async fn find_thread_impl(
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
                Some("pk, #ch, business_id, customer_id, participants"),
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
            // A mail may also answer a website chat we mailed (its participants
            // then decide who may join it, as in any thread).
            let continues_web = channel == Channel::Email && ch == Channel::Web.as_str();
            if !continues_web && (ch != channel.as_str() || b != business_id) {
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
