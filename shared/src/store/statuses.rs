//! Status changes that are not messages: an agent's PATCH, the snooze sweep, a
//! delivery that failed. Each reads the state (the sweep from its index, which
//! projects it), lets `lifecycle` decide, and writes on condition that the state is
//! still the one read.

use super::dynamo::{DynamoStore, RACE_ROUNDS, unavailable};
use super::expr::{Expr, condition_failed};
use super::items::*;
use super::{StoreError, state};
use crate::conversation::{Conversation, ConversationId};
use crate::lifecycle::keys::{self, DEADLINE_INDEX, ms13};
use crate::lifecycle::{self, Event, State, StateChange};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};

/// Snoozed conversations woken per shard and run of the sweep (the next run, a
/// minute later, takes the rest).
pub const WAKE_BATCH: i32 = 100;

impl DynamoStore {
    /// Writes `next` (revision after `rev`) if the conversation is still at `rev`;
    /// `Ok(None)` when it changed meanwhile.
    async fn write_state(
        &self,
        id: &ConversationId,
        next: &State,
        rev: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Option<Conversation>, StoreError> {
        let mut e = Expr::default();
        e.set(
            "updated_at",
            AttributeValue::N(now.timestamp_millis().to_string()),
        );
        for (attr, v) in feed_fields(id) {
            e.set(attr, v);
        }
        state::write(&mut e, id, next, rev.map_or(0, |r| r + 1));
        state::expect_rev(&mut e, rev);
        let result = e
            .update_item(&self.client, &self.table, conversation_key(id))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                Ok(Some(Conversation::from(from_item::<_, ConversationItem>(
                    item,
                )?)))
            }
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Reads, decides with `event`, writes; again when the conversation changed
    /// meanwhile. `Ok(None)`: no such conversation.
    async fn transition(
        &self,
        id: &ConversationId,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<Option<Conversation>, StoreError> {
        for _ in 0..RACE_ROUNDS {
            let Some(item) = self.read_conversation(id).await? else {
                return Ok(None);
            };
            let (was, rev) = state::read(&item)
                .ok_or_else(|| StoreError::Corrupt(format!("conversation {id} has no status")))?;
            let next = match lifecycle::apply(Some(&was), event) {
                Some(next) => next,
                // An agent's PATCH is written even when it changes nothing (it
                // answers with the conversation as stored); nothing else is.
                None if matches!(event, Event::Changed { .. }) => was,
                None => {
                    return Ok(Some(Conversation::from(from_item::<_, ConversationItem>(
                        item,
                    )?)));
                }
            };
            if let Some(c) = self.write_state(id, &next, rev, now).await? {
                return Ok(Some(c));
            }
        }
        Err(StoreError::Unavailable(format!(
            "conversation {id} kept changing"
        )))
    }

    pub(super) async fn change(
        &self,
        id: &ConversationId,
        change: &StateChange,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let event = Event::Changed {
            change: change.clone(),
            at: now,
        };
        self.transition(id, &event, now)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))
    }

    /// A message of ours failed to arrive: the conversation comes back to the open
    /// queue so an agent sees it (waiting since the failure, unless already waiting).
    pub(super) async fn reopen_for_failure(
        &self,
        id: &ConversationId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.transition(id, &Event::DeliveryFailed { at }, at)
            .await
            .map(|_| ())
    }

    /// The entries of the `by_deadline` partition `partition` whose `dl_at` sorts
    /// before `bound`, at most `limit`: what is due, and only that, is read.
    pub(super) async fn due_entries(
        &self,
        partition: &str,
        bound: &str,
        limit: i32,
    ) -> Result<aws_sdk_dynamodb::operation::query::QueryOutput, StoreError> {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(DEADLINE_INDEX)
            .key_condition_expression("#p = :p AND #s < :b")
            .expression_attribute_names("#p", state::DL)
            .expression_attribute_names("#s", state::DL_AT)
            .expression_attribute_values(":p", AttributeValue::S(partition.to_string()))
            .expression_attribute_values(":b", AttributeValue::S(bound.to_string()))
            .limit(limit)
            .send()
            .await
            .map_err(unavailable)
    }

    /// Reopens the snoozed conversations that are due: reads only those (the wake
    /// partitions, up to `now`), at most `WAKE_BATCH` per shard.
    pub(super) async fn wake(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut woken = 0;
        let bound = format!("{}~", ms13(now));
        for shard in 0..keys::SHARDS {
            let out = self
                .due_entries(&keys::wake_partition(shard), &bound, WAKE_BATCH)
                .await?;
            for entry in out.items() {
                let Some(id) = entry
                    .get(state::DL_AT)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|s| state::id_of_entry(s))
                else {
                    continue;
                };
                let Some((was, rev)) = state::read(entry) else {
                    continue;
                };
                // Still snoozed and due as the index has it; the write's condition
                // (the same revision) settles a race with a customer message.
                if let Some(next) = lifecycle::apply(Some(&was), &Event::Wake { at: now })
                    && self.write_state(&id, &next, rev, now).await?.is_some()
                {
                    woken += 1;
                }
            }
        }
        Ok(woken)
    }
}
