//! Email threads in the table: the links that find a thread's conversation and the
//! reads behind `find_thread` (see docs/data-model.md, "Email threads").

use super::StoreError;
use super::dynamo::DynamoStore;
use super::items::{PK, SK, thread_link_pk};
use crate::conversation::{Channel, ConversationId};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub(super) type Item = HashMap<String, AttributeValue>;

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
            .batch_get(request_keys, "pk, conversation_id", &[])
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

    /// One BatchGetItem of at most 100 keys; a throttled (partial) answer is an
    /// outage, since a missing item would change the decision.
    pub(super) async fn batch_get(
        &self,
        keys: Vec<Item>,
        projection: &str,
        names: &[(&str, &str)],
    ) -> Result<Vec<Item>, StoreError> {
        let mut wanted = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .projection_expression(projection);
        for (k, v) in names {
            wanted = wanted.expression_attribute_names(*k, *v);
        }
        let wanted = wanted
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut out = self
            .client
            .batch_get_item()
            .request_items(&self.table, wanted)
            .send()
            .await
            .map_err(|e| {
                StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            })?;
        if out
            .unprocessed_keys()
            .is_some_and(|u| u.values().any(|k| !k.keys().is_empty()))
        {
            return Err(StoreError::Unavailable("batch read was throttled".into()));
        }
        Ok(out
            .responses
            .take()
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default())
    }
}
