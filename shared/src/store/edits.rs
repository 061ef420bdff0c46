//! Edits of stored messages: applied in place, newest wins, history bounded.

use super::items::*;
use super::{ConversationStore, Recorded, StoreError};
use crate::conversation::{Edit, InboundMessage, MessageEdit};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::dynamo::*;
use super::expr::condition_failed;

impl DynamoStore {
    pub(super) async fn record_edit_impl(
        &self,
        edit: &MessageEdit,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let m = &edit.message;
        let edits = serde_dynamo::to_attribute_value(vec![Edit {
            edited_at: edit.edited_at,
            text: m.text().map(str::to_string),
        }])
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(conversation_pk(&m.conversation_id)))
            .key(SK, s(message_sk(m)))
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(#le) OR #le < :le) \
                 AND (attribute_not_exists(#ed) OR size(#ed) < :max)",
            )
            .expression_attribute_names("#le", "last_edit_at")
            .expression_attribute_names("#ed", "edits")
            .expression_attribute_values(":le", n(edit.edited_at.timestamp_millis()))
            .expression_attribute_values(":max", n(MAX_EDITS))
            .expression_attribute_values(":ed", edits)
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            );
        let mut set = vec![
            "#le = :le",
            "#ed = list_append(if_not_exists(#ed, :none), :ed)",
        ];
        let update = with_edited_text(update, &mut set, m.text());
        match update
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await
        {
            Ok(_) => Ok(Recorded::Stored),
            Err(e) if condition_failed(&e) => {
                let old = e.as_service_error().and_then(|e| match e {
                    UpdateItemError::ConditionalCheckFailedException(c) => c.item(),
                    _ => None,
                });
                if let Some(old) = old {
                    let last = old
                        .get("last_edit_at")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse::<i64>().ok());
                    if last.is_some_and(|l| l >= edit.edited_at.timestamp_millis()) {
                        return Ok(Recorded::Duplicate);
                    }
                    // The history is full: keep the newest edits (the text as first
                    // received stays in `original_text`).
                    return self.replace_edit_history(edit, old, last).await;
                }
                // An edit of a message we never stored: store it as it reads now,
                // with this edit in its history (so a redelivery is recognised).
                let mut message = m.clone();
                message.edits = vec![Edit {
                    edited_at: edit.edited_at,
                    text: m.text().map(str::to_string),
                }];
                let inbound = InboundMessage {
                    message,
                    customer: edit.customer.clone(),
                    dedupe_keys: Vec::new(),
                    blocked: None,
                    group: false,
                    thread_lookup: Vec::new(),
                    thread_token: None,
                    authenticated_sender: None,
                    related_to: None,
                };
                self.record_inbound(&inbound, now).await
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Applies `edit` to a message whose history is full (`old`, as read by the
    /// failed condition): the oldest edit makes room. Conditioned on the history
    /// being the one read, so a concurrent edit makes this one a duplicate to retry.
    pub(super) async fn replace_edit_history(
        &self,
        edit: &MessageEdit,
        old: &Item,
        last: Option<i64>,
    ) -> Result<Recorded, StoreError> {
        let m = &edit.message;
        let mut history = old
            .get("edits")
            .and_then(|v| v.as_l().ok())
            .cloned()
            .unwrap_or_default();
        let added = serde_dynamo::to_attribute_value(Edit {
            edited_at: edit.edited_at,
            text: m.text().map(str::to_string),
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        history.push(added);
        let drop = history.len().saturating_sub(MAX_EDITS);
        history.drain(..drop);
        let mut set = vec!["#le = :le", "#ed = :ed"];
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(conversation_pk(&m.conversation_id)))
            .key(SK, s(message_sk(m)))
            .expression_attribute_names("#le", "last_edit_at")
            .expression_attribute_names("#ed", "edits")
            .expression_attribute_values(":le", n(edit.edited_at.timestamp_millis()))
            .expression_attribute_values(":ed", AttributeValue::L(history));
        update = match last {
            Some(last) => update
                .condition_expression("#le = :read")
                .expression_attribute_values(":read", n(last)),
            None => update.condition_expression("attribute_not_exists(#le)"),
        };
        let update = with_edited_text(update, &mut set, m.text());
        match update
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await
        {
            Ok(_) => Ok(Recorded::Stored),
            Err(e) if condition_failed(&e) => Ok(Recorded::Duplicate),
            Err(e) => Err(unavailable(e)),
        }
    }
}
