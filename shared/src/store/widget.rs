//! The widget's reads and counters: a visitor's thread since a moment (one query of
//! the conversation's message range), per-minute rate counters
//! (`pk = RATE#<key>#<minute>`, gone with the TTL two minutes later), and the watches
//! of agents' replies the widget has not fetched (`pk = WEBMAIL#<conversation id>`,
//! in `by_deadline` by the oldest such reply), which the mail sweep reads.

use super::dynamo::*;
use super::expr::{Expr, condition_failed};
use super::items::*;
use super::state;
use crate::conversation::{Author, Channel, ConversationId, DeliveryState, Message};
use crate::lifecycle::keys::{self, ms13};
use crate::ports::{MailWatch, StoreError, ThreadSince, WebMailStore, WidgetStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};

#[async_trait]
impl WidgetStore for DynamoStore {
    async fn thread_since(
        &self,
        id: &ConversationId,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<ThreadSince, StoreError> {
        let limit = limit.clamp(1, 500);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(conversation_pk(id)))
            // One more than asked: says whether there is more.
            .limit(limit as i32 + 1);
        let query = match since {
            Some(since) => query
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":from", s(message_key_sk(since, "")))
                // '$' sorts right after '#': every MSG# key.
                .expression_attribute_values(":to", s("MSG$"))
                .scan_index_forward(true),
            None => query
                .key_condition_expression("pk = :pk AND begins_with(sk, :msg)")
                .expression_attribute_values(":msg", s("MSG#"))
                .scan_index_forward(false),
        };
        let out = query.send().await.map_err(unavailable)?;
        let mut messages = Vec::new();
        for item in out.items() {
            if item
                .get("item_type")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some(TYPE_MESSAGE)
            {
                messages.push(from_item::<_, MessageItem>(item.clone())?.message);
            }
        }
        let more = messages.len() > limit as usize;
        messages.truncate(limit as usize);
        if since.is_none() {
            messages.reverse();
        }
        // Newest first was read without `since`: "more" then means older ones, which
        // the widget does not page through.
        Ok(ThreadSince {
            messages,
            more: more && since.is_some(),
        })
    }

    async fn take(&self, key: &str, limit: u32, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let minute = now.timestamp() / 60;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(format!("RATE#{key}#{minute}")))
            .key(SK, s("RATE"))
            .update_expression("ADD uses :one SET item_type = :t, expires_at = :exp")
            .condition_expression("attribute_not_exists(uses) OR uses < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":t", s(TYPE_RATE))
            .expression_attribute_values(":exp", n((minute + 2) * 60))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// How long a mail watch item lives without being cleared (a reply nobody fetched
/// and nobody could mail: no contact, no email channel).
const WATCH_TTL_SECS: i64 = 30 * 24 * 3600;

fn watch_key(id: &ConversationId) -> Item {
    Item::from([
        (PK.into(), s(format!("WEBMAIL#{id}"))),
        (SK.into(), s("WATCH")),
    ])
}

/// The watch's `by_deadline` partition: one of four, by the id's last digit.
fn watch_partition(id: &ConversationId) -> String {
    let last = id
        .as_str()
        .chars()
        .last()
        .and_then(|c| c.to_digit(16))
        .unwrap_or(0);
    format!("webmail#{}", last % keys::SHARDS)
}

impl DynamoStore {
    /// An agent's reply to a website visitor, accepted: the watch that mails it if
    /// the widget does not fetch it (in the reply's transaction). `None` for any
    /// other message.
    pub(super) fn mail_watch_write(
        &self,
        message: &Message,
        now: DateTime<Utc>,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let accepted = message
            .delivery
            .as_ref()
            .is_some_and(|d| d.state == DeliveryState::Accepted);
        if message.endpoint.channel != Channel::Web
            || !matches!(message.author, Author::Agent(_))
            || !accepted
        {
            return Ok(None);
        }
        let id = &message.conversation_id;
        let mut e = Expr::default();
        e.set("item_type", s(TYPE_WEB_MAIL_WATCH));
        e.set("conversation_id", s(id.as_str()));
        e.set("last_at", n(message.sent_at.timestamp_millis()));
        e.set_if_absent(state::DL, s(watch_partition(id)));
        e.set_if_absent(state::DL_AT, s(format!("{}#{id}", ms13(message.sent_at))));
        e.set(EXPIRES_AT, n(now.timestamp() + WATCH_TTL_SECS));
        e.transact_update(&self.table, watch_key(id)).map(Some)
    }
}

#[async_trait]
impl WebMailStore for DynamoStore {
    async fn due_mail_watches(
        &self,
        before: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<MailWatch>, StoreError> {
        let mut due = Vec::new();
        for shard in 0..keys::SHARDS {
            let out = self
                .due_entries(&format!("webmail#{shard}"), &ms13(before), limit)
                .await?;
            for entry in out.items() {
                let Some((at, id)) = entry
                    .get(state::DL_AT)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|v| v.split_once('#'))
                else {
                    continue;
                };
                let (Some(conversation), Some(first_at)) = (
                    ConversationId::parse(id),
                    at.parse::<i64>()
                        .ok()
                        .and_then(DateTime::from_timestamp_millis),
                ) else {
                    continue;
                };
                due.push(MailWatch {
                    conversation,
                    first_at,
                });
            }
        }
        Ok(due)
    }

    async fn clear_mail_watch(
        &self,
        conversation: &ConversationId,
        upto: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(watch_key(conversation)))
            .condition_expression("attribute_not_exists(pk) OR last_at <= :upto")
            .expression_attribute_values(":upto", n(upto.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}
