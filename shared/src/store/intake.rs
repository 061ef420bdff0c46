//! Storing an inbound message: one transaction (dedupe keys, the message, its thread
//! links, the conversation). A message to a new or an open conversation changes
//! nothing of the lifecycle the write's condition does not already fix, so it is
//! written without a read; a message that reopens a conversation is decided by
//! `lifecycle` from the conversation as read, and written if it is still that.

use super::dynamo::{DynamoStore, Item, TransactFailure};
use super::expr::Expr;
use super::items::*;
use super::state;
use super::{Recorded, StoreError};
use crate::conversation::{InboundMessage, address_digest};
use crate::lifecycle::{self, Event};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// What an inbound message writes on its conversation besides the lifecycle: who,
/// when, the preview and counters.
fn inbound_fields(
    e: &mut Expr,
    inbound: &InboundMessage,
    now: DateTime<Utc>,
    expires_at: Option<i64>,
) {
    let m = &inbound.message;
    e.set("item_type", s(TYPE_CONVERSATION));
    e.set("id", s(m.conversation_id.as_str()));
    e.set("channel", s(m.endpoint.channel.as_str()));
    e.set("business_id", s(&m.endpoint.business_id));
    // The identity is the first message's: an email thread keeps its customer when
    // someone in copy answers.
    e.set_if_absent("customer_id", s(&m.endpoint.customer_id));
    e.set("updated_at", n(now.timestamp_millis()));
    e.set("last_message_at", n(m.sent_at.timestamp_millis()));
    e.set_if_absent("created_at", n(now.timestamp_millis()));
    e.set("group", AttributeValue::Bool(inbound.group));
    e.add("message_count", n(1));
    // Any customer message opens the channel's reply window (WhatsApp: 24 h).
    if m.author == crate::conversation::Author::Customer {
        e.set("last_inbound_at", n(m.sent_at.timestamp_millis()));
    }
    if let Some(text) = m.text() {
        e.set("preview", s(preview(text)));
    }
    if let Some(subject) = m.mail.as_ref().and_then(|mail| mail.subject.as_ref()) {
        e.set_if_absent("subject", s(subject));
    }
    if m.opens_conversation() {
        // When a customer last asked for an answer (store time): a reply that
        // answered only older messages leaves the conversation open.
        e.set("last_customer_at", n(now.timestamp_millis()));
        e.add("unanswered", n(1));
        if let Some(pid) = &m.provider_message_id {
            e.set("reply_to", s(pid));
        }
        if let Some(mail) = &m.mail {
            // What a reply to this mail carries as References (the newest 20).
            let refs = mail.reply_references();
            let refs = &refs[refs.len().saturating_sub(20)..];
            if !refs.is_empty() {
                e.set(
                    "reply_references",
                    AttributeValue::L(refs.iter().map(|r| s(r.as_str())).collect()),
                );
            }
        }
    }
    let profile = [
        ("customer_name", &inbound.customer.name),
        ("customer_username", &inbound.customer.username),
        ("customer_language", &inbound.customer.language),
        ("reply_address", &inbound.customer.reply_address),
    ];
    for (attr, v) in profile {
        if let Some(v) = v {
            e.set(attr, s(v));
        }
    }
    // Under a retention, the conversation goes that long after its last message.
    if let Some(at) = expires_at {
        e.set(EXPIRES_AT, n(at));
    }
    if m.unverified {
        e.set("unverified", AttributeValue::Bool(true));
    }
    if let Some(related) = &inbound.related_to {
        e.set("related_to", s(related.as_str()));
    }
    // Who takes part in the thread: only an authenticated sender.
    if let Some(sender) = &inbound.authenticated_sender {
        e.add(
            "participants",
            AttributeValue::Ss(vec![address_digest(sender)]),
        );
    }
    if let Some(blocked) = inbound.blocked {
        e.set("blocked", AttributeValue::Bool(blocked));
    }
}

/// A message text as the queue shows it: one line, at most 140 characters.
pub(super) fn preview(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 140 {
        return flat;
    }
    let cut: String = flat.chars().take(139).collect();
    format!("{cut}…")
}

impl DynamoStore {
    pub(super) async fn store_inbound(
        &self,
        inbound: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let m = &inbound.message;
        let id = &m.conversation_id;
        let event = if m.opens_conversation() {
            Event::CustomerMessage { at: m.sent_at }
        } else {
            Event::QuietMessage { at: m.sent_at }
        };
        let mut items = self.intake_items(inbound, now)?;
        let conversation_index = items.len();
        // A new conversation, or one the message leaves as it is.
        let new = lifecycle::apply(None, &event).expect("a message starts a conversation");
        let mut e = Expr::default();
        inbound_fields(&mut e, inbound, now, self.expiry(now));
        state::write_if_absent(&mut e, id, &new);
        let (pk, st, sq) = (e.name("pk"), e.name(state::STATUS), e.name(state::SQ));
        if m.opens_conversation() {
            let open = e.value(s("open"));
            e.condition(format!(
                "attribute_not_exists({pk}) OR ({st} = {open} AND attribute_exists({sq}))"
            ));
        } else {
            e.condition(format!(
                "attribute_not_exists({pk}) OR attribute_exists({sq})"
            ));
        }
        items.push(e.transact_update(&self.table, conversation_key(id))?);
        let failed = match self.transact(items).await {
            Ok(()) => return Ok(Recorded::Stored),
            Err(TransactFailure::Store(e)) => return Err(e),
            Err(TransactFailure::Condition(failed)) => failed,
        };
        if failed.iter().any(|&i| i != conversation_index) {
            return Ok(Recorded::Duplicate);
        }
        // The message changes the conversation's state (reopens it): decided from
        // the conversation as read, written if it is still that.
        for _ in 0..super::dynamo::RACE_ROUNDS {
            let current = self.read_conversation(id).await?;
            let mut e = Expr::default();
            inbound_fields(&mut e, inbound, now, self.expiry(now));
            match current.as_ref().and_then(state::read) {
                Some((was, rev)) => {
                    let next = lifecycle::apply(Some(&was), &event).unwrap_or(was);
                    state::write(&mut e, id, &next, rev.map_or(0, |r| r + 1));
                    state::expect_rev(&mut e, rev);
                }
                None => {
                    // Gone meanwhile (erased), or an item with no state: start anew.
                    state::write(&mut e, id, &new, 0);
                    let pk = e.name("pk");
                    let st = e.name(state::STATUS);
                    e.condition(format!(
                        "attribute_not_exists({pk}) OR attribute_not_exists({st})"
                    ));
                }
            }
            let mut items = self.intake_items(inbound, now)?;
            items.push(e.transact_update(&self.table, conversation_key(id))?);
            match self.transact(items).await {
                Ok(()) => return Ok(Recorded::Stored),
                Err(TransactFailure::Store(e)) => return Err(e),
                Err(TransactFailure::Condition(failed)) => {
                    if failed.iter().any(|&i| i != conversation_index) {
                        return Ok(Recorded::Duplicate);
                    }
                }
            }
        }
        Err(StoreError::Unavailable(format!(
            "conversation {id} kept changing"
        )))
    }

    /// The transaction's items before the conversation: each dedupe key, the
    /// message, its thread links.
    fn intake_items(
        &self,
        inbound: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        let m = &inbound.message;
        let message_item = self.message_item(m);
        let mut items = Vec::new();
        for key in &inbound.dedupe_keys {
            let dedupe = Item::from([
                (PK.into(), s(dedupe_pk(key))),
                (SK.into(), s("DEDUPE")),
                ("item_type".into(), s(TYPE_DEDUPE)),
                ("conversation_id".into(), s(m.conversation_id.as_str())),
                ("message_sk".into(), s(&message_item.sk)),
                (
                    EXPIRES_AT.into(),
                    n(now.timestamp() + super::dynamo::DEDUPE_TTL_SECS),
                ),
            ]);
            items.push(self.put(dedupe, Some("attribute_not_exists(pk)"))?);
        }
        items.push(self.put(
            super::dynamo::to_item(&message_item)?,
            Some("attribute_not_exists(pk)"),
        )?);
        items.extend(self.thread_links(m, now)?);
        Ok(items)
    }
}
