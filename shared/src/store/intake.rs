//! Storing an inbound message in two single-item writes, the fewest units that keep
//! DynamoDB's guarantees: the message first (`PutItem`, `attribute_not_exists`: its
//! own key dedupes it; with dedupe keys or thread links, one transaction of those
//! items), then the conversation (`UpdateItem`), whose lifecycle `lifecycle` decides
//! from the conversation as read. The conversation keeps the digests of its latest
//! intakes (`intake`): the update is conditioned on that list as read (and on `rev`),
//! so two messages never both apply from the same read, and a message whose digest
//! is listed was applied. A retry after a write that stopped between the two (the
//! platform redelivers after our 5xx) finds the message stored and the digest
//! missing, and applies the conversation's part once.

use super::dynamo::{DynamoStore, Item, TransactFailure, unavailable};
use super::expr::Expr;
use super::expr::condition_failed;
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
    // The conversation's channel and identity are its first message's: a website
    // chat stays one when the visitor answers our mail, and an email thread keeps its
    // customer when someone in copy answers.
    e.set_if_absent("channel", s(m.endpoint.channel.as_str()));
    e.set_if_absent("business_id", s(&m.endpoint.business_id));
    e.set_if_absent("customer_id", s(&m.endpoint.customer_id));
    e.set("updated_at", n(now.timestamp_millis()));
    for (attr, v) in feed_fields(&m.conversation_id) {
        e.set(attr, v);
    }
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
        ("contact_email", &inbound.customer.contact_email),
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

/// How many intake digests a conversation keeps: a redelivery finds its message
/// applied while fewer than this many messages came after it.
const INTAKE_KEPT: usize = 16;
const INTAKE: &str = "intake";
/// Attempts at the conversation's update when other writes keep coming between.
const INTAKE_ROUNDS: u32 = 12;

/// A message's digest in the conversation's `intake` list (8 bytes of SHA-256 of
/// its id, 11 characters).
fn intake_digest(message_id: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(message_id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d[..8])
}

/// The conversation's `intake` list with `digest` added, the oldest dropped.
fn intake_after(old: Option<&str>, digest: &str) -> String {
    let mut list: Vec<&str> = old
        .map(|l| l.split(',').filter(|d| !d.is_empty()).collect())
        .unwrap_or_default();
    list.push(digest);
    let keep = list.len().saturating_sub(INTAKE_KEPT);
    list[keep..].join(",")
}

fn intake_of(item: &Item) -> Option<&str> {
    item.get(INTAKE)?.as_s().ok().map(String::as_str)
}

/// What writing the message's items found.
enum MessageWrite {
    Written,
    /// The message is stored already (an earlier attempt wrote it).
    Exists,
    /// A dedupe key names another message: this one is a redelivery of that.
    Duplicate,
}

impl DynamoStore {
    pub(super) async fn store_inbound(
        &self,
        inbound: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let m = &inbound.message;
        let event = if m.opens_conversation() {
            Event::CustomerMessage { at: m.sent_at }
        } else {
            Event::QuietMessage { at: m.sent_at }
        };
        // By the message's id, so a redelivery that names it with another timestamp
        // (another sort key) is recognised too.
        let digest = intake_digest(&m.id);
        // Eventually consistent: a stale read fails the update's condition, which
        // returns the item as it is.
        let mut current = self.read_conversation_as(&m.conversation_id, false).await?;
        let mut message_written = false;
        for round in 0..INTAKE_ROUNDS {
            let listed = current
                .as_ref()
                .and_then(intake_of)
                .is_some_and(|l| l.split(',').any(|d| d == digest));
            if listed {
                return Ok(Recorded::Duplicate);
            }
            if !message_written {
                match self.write_message(inbound, now).await? {
                    MessageWrite::Written | MessageWrite::Exists => message_written = true,
                    MessageWrite::Duplicate => return Ok(Recorded::Duplicate),
                }
            }
            let e = self.conversation_update(inbound, &event, current.as_ref(), &digest, now);
            match self.update_conversation(&m.conversation_id, &e).await? {
                None => return Ok(Recorded::Stored),
                Some(now_is) => current = now_is,
            }
            if round > 0 {
                // Others are writing this conversation: let them finish.
                let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 20;
                tokio::time::sleep(std::time::Duration::from_millis(
                    10 * u64::from(round) + jitter,
                ))
                .await;
            }
        }
        Err(StoreError::Unavailable(format!(
            "conversation {} kept changing",
            m.conversation_id
        )))
    }

    /// Writes the message (and its dedupe keys and thread links, in one transaction
    /// when there are any).
    async fn write_message(
        &self,
        inbound: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<MessageWrite, StoreError> {
        let (items, message_index) = self.intake_items(inbound, now)?;
        if items.len() > 1 {
            return match self.transact(items).await {
                Ok(()) => Ok(MessageWrite::Written),
                Err(TransactFailure::Store(e)) => Err(e),
                Err(TransactFailure::Condition(failed)) if failed.contains(&message_index) => {
                    Ok(MessageWrite::Exists)
                }
                Err(TransactFailure::Condition(_)) => Ok(MessageWrite::Duplicate),
            };
        }
        let item = super::dynamo::to_item(&self.message_item(&inbound.message))?;
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(MessageWrite::Written),
            Err(e) if condition_failed(&e) => Ok(MessageWrite::Exists),
            Err(e) if super::expr::refused(&e) => Err(StoreError::Invalid(
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                    .to_string()
                    .chars()
                    .take(300)
                    .collect(),
            )),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The conversation's update for this message, decided from `current` (the
    /// conversation as read), conditioned on it still being that.
    fn conversation_update(
        &self,
        inbound: &InboundMessage,
        event: &Event,
        current: Option<&Item>,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Expr {
        let id = &inbound.message.conversation_id;
        let mut e = Expr::default();
        inbound_fields(&mut e, inbound, now, self.expiry(now));
        let new = || lifecycle::apply(None, event).expect("a message starts a conversation");
        match current {
            None => {
                state::write(&mut e, id, &new(), 0);
                let pk = e.name("pk");
                e.condition(format!("attribute_not_exists({pk})"));
            }
            Some(item) => match state::read(item) {
                Some((was, rev)) => {
                    if let Some(next) = lifecycle::apply(Some(&was), event) {
                        state::write(&mut e, id, &next, rev.map_or(0, |r| r + 1));
                    }
                    state::expect_rev(&mut e, rev);
                }
                None => {
                    // An item with no state (erased meanwhile): start anew.
                    state::write(&mut e, id, &new(), 0);
                    let st = e.name(state::STATUS);
                    e.condition(format!("attribute_not_exists({st})"));
                }
            },
        }
        let old = current.and_then(intake_of);
        let list = e.name(INTAKE);
        match old {
            Some(old) => {
                let v = e.value(s(old));
                e.condition(format!("{list} = {v}"));
            }
            None => e.condition(format!("attribute_not_exists({list})")),
        }
        e.set(INTAKE, s(intake_after(old, digest)));
        e
    }

    /// Runs the conversation's update. `Some(item)`: its condition failed, and the
    /// conversation is now `item`.
    async fn update_conversation(
        &self,
        id: &crate::conversation::ConversationId,
        e: &Expr,
    ) -> Result<Option<Option<Item>>, StoreError> {
        let result = e
            .update_item(&self.client, &self.table, conversation_key(id))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(err) if condition_failed(&err) => {
                let item = err.as_service_error().and_then(|se| match se {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item().cloned(),
                    _ => None,
                });
                Ok(Some(item))
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    /// The message's items: each dedupe key, the message, its thread links; and the
    /// message's index among them.
    fn intake_items(
        &self,
        inbound: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<(Vec<aws_sdk_dynamodb::types::TransactWriteItem>, usize), StoreError> {
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
        let message_index = items.len();
        items.push(self.put(
            super::dynamo::to_item(&message_item)?,
            Some("attribute_not_exists(pk)"),
        )?);
        items.extend(self.thread_links(m, now)?);
        Ok((items, message_index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_intake_list_keeps_the_newest() {
        let mut list: Option<String> = None;
        for i in 0..40 {
            list = Some(intake_after(
                list.as_deref(),
                &intake_digest(&format!("MSG#{i}")),
            ));
        }
        let list = list.unwrap();
        let kept: Vec<&str> = list.split(',').collect();
        assert_eq!(kept.len(), INTAKE_KEPT);
        assert_eq!(kept.last(), Some(&intake_digest("MSG#39").as_str()));
        assert!(!kept.contains(&intake_digest("MSG#23").as_str()));
        assert!(kept.contains(&intake_digest("MSG#24").as_str()));
        assert_eq!(intake_digest("MSG#1").len(), 11);
    }
}
