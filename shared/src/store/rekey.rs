//! Re-keying: gives every conversation the queue indexes' keys its state has
//! (`lifecycle::keys`). For tables written by a release before these indexes (the
//! `queue` attribute of `by_queue`), and after a change of `SHARDS`. Each write is
//! conditioned on the revision read, so it never overwrites what the functions write
//! meanwhile (they write the keys themselves); a conversation whose keys are right is
//! left alone, so a second run writes nothing.

use super::dynamo::{DynamoStore, unavailable};
use super::expr::{Expr, condition_failed};
use super::items::*;
use super::{StoreError, state};
use crate::conversation::ConversationId;
use crate::lifecycle::keys;
use aws_sdk_dynamodb::types::AttributeValue;

/// What a re-key did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rekeyed {
    pub updated: usize,
    /// Right already.
    pub unchanged: usize,
    /// Changed meanwhile by the functions (which wrote the keys themselves).
    pub skipped: usize,
    pub unreadable: usize,
}

impl DynamoStore {
    pub async fn rekey(&self) -> Result<Rekeyed, StoreError> {
        let mut done = Rekeyed::default();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("item_type = :conv")
                .expression_attribute_values(":conv", AttributeValue::S(TYPE_CONVERSATION.into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                let id = item
                    .get("id")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|s| ConversationId::parse(s));
                let (Some(id), Some((st, rev))) = (id, state::read(item)) else {
                    done.unreadable += 1;
                    continue;
                };
                let k = keys::keys(&id, &st);
                let text = |a: &str| item.get(a).and_then(|v| v.as_s().ok()).cloned();
                let right = text(state::SQ) == Some(k.status.partition.clone())
                    && text(state::SQ_AT) == Some(k.status.sort.clone())
                    && text(state::DL) == k.deadline.as_ref().map(|d| d.partition.clone())
                    && text(state::DL_AT) == k.deadline.as_ref().map(|d| d.sort.clone())
                    && text(state::AQ) == k.agent.as_ref().map(|a| a.partition.clone())
                    && text(state::AQ_AT) == k.agent.as_ref().map(|a| a.sort.clone())
                    && !item.contains_key(state::LEGACY_QUEUE)
                    && text(CH) == Some(change_shard(&id))
                    && rev.is_some();
                if right {
                    done.unchanged += 1;
                    continue;
                }
                let mut e = Expr::default();
                state::write(&mut e, &id, &st, rev.map_or(0, |r| r + 1));
                // The change feed's partition, on items older than the feed.
                for (attr, v) in feed_fields(&id) {
                    e.set(attr, v);
                }
                state::expect_rev(&mut e, rev);
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(conversation_key(&id)))
                    .update_expression(e.update_expression())
                    .set_condition_expression(e.condition_expression())
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .send()
                    .await;
                match result {
                    Ok(_) => done.updated += 1,
                    Err(e) if condition_failed(&e) => done.skipped += 1,
                    Err(e) => return Err(unavailable(e)),
                }
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(done),
            }
        }
    }
}
