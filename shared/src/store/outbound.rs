//! What storing an outbound message writes on its conversation. A note or a failed
//! send changes no state and is written blind; an agent's answer or an auto-reply's
//! promise is a lifecycle transition, decided from the conversation as read and
//! written only if it is still that (the transaction is run again otherwise).

use super::dynamo::DynamoStore;
use super::expr::Expr;
use super::intake::preview;
use super::items::*;
use super::{OutboundEffect, StoreError, state};
use crate::conversation::{Content, Message, address_digest};
use crate::lifecycle::{self, Event};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The conversation's fields an outbound message sets, besides the lifecycle.
fn outbound_fields(e: &mut Expr, message: &Message, now: DateTime<Utc>, expires: Option<i64>) {
    e.set("updated_at", n(now.timestamp_millis()));
    for (attr, v) in feed_fields(&message.conversation_id) {
        e.set(attr, v);
    }
    e.set("last_message_at", n(message.sent_at.timestamp_millis()));
    e.add("message_count", n(1));
    // The queue's preview: the newest message sent (notes are internal).
    if let Some(text) = message
        .text()
        .filter(|_| !matches!(message.content, Content::Note { .. }))
    {
        e.set("preview", AttributeValue::S(preview(text)));
    }
    if let Some(at) = expires {
        e.set(EXPIRES_AT, n(at));
    }
    // Our latest mail in the thread, for the References of the next reply.
    if let Some(id) = message.mail.as_ref().and_then(|m| m.message_id.as_ref()) {
        e.set("our_message_id", AttributeValue::S(id.clone()));
        e.set("our_message_at", n(now.timestamp_millis()));
    }
    // A thread we wrote to (email): its recipient may answer into it.
    if !message.thread_keys.is_empty() {
        e.add(
            "participants",
            AttributeValue::Ss(vec![address_digest(&message.endpoint.customer_id)]),
        );
    }
}

/// Whether storing a message with `effect` changes the conversation's state.
pub(super) fn is_transition(message: &Message, effect: OutboundEffect) -> bool {
    !matches!(effect, OutboundEffect::KeepStatus) || message.promised_reply_by.is_some()
}

impl DynamoStore {
    /// The conversation's update in the outbound transaction; an agent's answer that
    /// ends a wait names the agent (`answered_by`, for the reports). `NotFound` when
    /// a transition finds no conversation.
    pub(super) async fn outbound_conversation_write(
        &self,
        message: &Message,
        effect: OutboundEffect,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let id = &message.conversation_id;
        let mut e = Expr::default();
        outbound_fields(&mut e, message, now, self.expiry(now));
        if !is_transition(message, effect) {
            let pk = e.name("pk");
            e.condition(format!("attribute_exists({pk})"));
            return e.transact_update(&self.table, conversation_key(id));
        }
        let item = self
            .read_conversation(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))?;
        let (was, rev) = state::read(&item)
            .ok_or_else(|| StoreError::Corrupt(format!("conversation {id} has no status")))?;
        let mut next = was;
        let answers = match effect {
            OutboundEffect::KeepStatus => false,
            OutboundEffect::AwaitCustomer => true,
            OutboundEffect::AwaitCustomerUnlessNewer { covered } => {
                // A customer message newer than the ones the reply answered leaves
                // the conversation open; the condition keeps it so until written.
                let last = item
                    .get("last_customer_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok());
                let newer = last.is_some_and(|l| l > covered.timestamp_millis());
                if !newer {
                    let lc = e.name("last_customer_at");
                    let c = e.value(n(covered.timestamp_millis()));
                    e.condition(format!("attribute_not_exists({lc}) OR {lc} <= {c}"));
                }
                !newer
            }
        };
        if answers {
            next = lifecycle::apply(Some(&next), &Event::Answered { at: now }).unwrap_or(next);
            e.set("unanswered", n(0));
            if let crate::conversation::Author::Agent(agent) = &message.author
                && next.waiting_since.is_none()
            {
                // Who ended the wait: the reports' stream reader reads it here.
                e.set("answered_by", AttributeValue::S(agent.clone()));
            }
        }
        if let Some(reply_by) = message.promised_reply_by {
            next = lifecycle::apply(Some(&next), &Event::Promised { reply_by }).unwrap_or(next);
        }
        state::write(&mut e, id, &next, rev.map_or(0, |r| r + 1));
        state::expect_rev(&mut e, rev);
        e.transact_update(&self.table, conversation_key(id))
    }
}
