//! A conversation's lifecycle state on its item: read from an item (or an index
//! entry, which projects the same attributes), and written, with the queue indexes'
//! keys, as one part of a conditional update. `rev` counts the state's changes: a
//! change is written only if `rev` is still the one read.

use super::dynamo::Item;
use super::expr::Expr;
use crate::conversation::{ConversationId, ConversationStatus, Priority};
use crate::lifecycle::State;
use crate::lifecycle::keys::{self, Keys};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

pub const STATUS: &str = "status";
pub const STATUS_SINCE: &str = "status_since";
pub const WAITING_SINCE: &str = "waiting_since";
pub const SNOOZE_UNTIL: &str = "snooze_until";
pub const PROMISED_REPLY_BY: &str = "promised_reply_by";
pub const PROMISE_FOR: &str = "promise_for";
pub const PRIORITY: &str = "priority";
pub const ASSIGNEE: &str = "assignee";
pub const REV: &str = "rev";
/// The indexes' key attributes.
pub const SQ: &str = "sq";
pub const SQ_AT: &str = "sq_at";
pub const DL: &str = "dl";
pub const DL_AT: &str = "dl_at";
pub const AQ: &str = "aq";
pub const AQ_AT: &str = "aq_at";
/// The index of the first release (`queue`, `status_since`), replaced by the three.
pub const LEGACY_QUEUE: &str = "queue";

fn ms(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp_millis().to_string())
}

fn num(item: &Item, attr: &str) -> Option<i64> {
    item.get(attr)?.as_n().ok()?.parse().ok()
}

fn time(item: &Item, attr: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(num(item, attr)?)
}

fn text<'a>(item: &'a Item, attr: &str) -> Option<&'a str> {
    item.get(attr)?.as_s().ok().map(String::as_str)
}

/// The state of a stored conversation (or an index entry), and its `rev` (absent on
/// items written before there was one). `None` when the item has no status.
pub fn read(item: &Item) -> Option<(State, Option<u64>)> {
    let status = ConversationStatus::parse(text(item, STATUS)?)?;
    let state = State {
        status,
        status_since: time(item, STATUS_SINCE)?,
        waiting_since: time(item, WAITING_SINCE),
        snooze_until: time(item, SNOOZE_UNTIL),
        promised_reply_by: time(item, PROMISED_REPLY_BY),
        promise_for: time(item, PROMISE_FOR),
        priority: match text(item, PRIORITY) {
            Some("urgent") => Priority::Urgent,
            _ => Priority::Normal,
        },
        assignee: text(item, ASSIGNEE).map(str::to_string),
    };
    let rev = num(item, REV).and_then(|r| u64::try_from(r).ok());
    Some((state, rev))
}

pub use crate::lifecycle::keys::id_of_entry;

fn priority(p: Priority) -> AttributeValue {
    AttributeValue::S(
        match p {
            Priority::Urgent => "urgent",
            Priority::Normal => "normal",
        }
        .into(),
    )
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn set_or_remove(e: &mut Expr, attr: &str, v: Option<AttributeValue>) {
    match v {
        Some(v) => e.set(attr, v),
        None => e.remove(attr),
    }
}

/// Writes `state` and its index keys, as revision `rev`.
pub fn write(e: &mut Expr, id: &ConversationId, state: &State, rev: u64) {
    e.set(STATUS, s(state.status.as_str()));
    e.set(STATUS_SINCE, ms(state.status_since));
    set_or_remove(e, WAITING_SINCE, state.waiting_since.map(ms));
    set_or_remove(e, SNOOZE_UNTIL, state.snooze_until.map(ms));
    set_or_remove(e, PROMISED_REPLY_BY, state.promised_reply_by.map(ms));
    set_or_remove(e, PROMISE_FOR, state.promise_for.map(ms));
    e.set(PRIORITY, priority(state.priority));
    set_or_remove(e, ASSIGNEE, state.assignee.clone().map(s));
    e.set(REV, AttributeValue::N(rev.to_string()));
    let Keys {
        status,
        deadline,
        agent,
    } = keys::keys(id, state);
    e.set(SQ, s(status.partition));
    e.set(SQ_AT, s(status.sort));
    set_or_remove(e, DL, deadline.as_ref().map(|d| s(&d.partition)));
    set_or_remove(e, DL_AT, deadline.map(|d| s(d.sort)));
    set_or_remove(e, AQ, agent.as_ref().map(|a| s(&a.partition)));
    set_or_remove(e, AQ_AT, agent.map(|a| s(a.sort)));
    e.remove(LEGACY_QUEUE);
}

/// Writes `state` (a new conversation's) where the item has no state yet, and leaves
/// a stored state as it is: for events that, by the lifecycle's rules, change nothing
/// of a conversation in the state the write's condition requires.
pub fn write_if_absent(e: &mut Expr, id: &ConversationId, state: &State) {
    e.set_if_absent(STATUS, s(state.status.as_str()));
    e.set_if_absent(STATUS_SINCE, ms(state.status_since));
    if let Some(w) = state.waiting_since {
        e.set_if_absent(WAITING_SINCE, ms(w));
    }
    e.set_if_absent(PRIORITY, priority(state.priority));
    e.set_if_absent(REV, AttributeValue::N("0".into()));
    let k = keys::keys(id, state);
    e.set_if_absent(SQ, s(k.status.partition));
    e.set_if_absent(SQ_AT, s(k.status.sort));
    debug_assert!(k.deadline.is_none() && k.agent.is_none());
}

/// The condition that the item is still at revision `rev` (as read; `None`: read
/// without one) and exists.
pub fn expect_rev(e: &mut Expr, rev: Option<u64>) {
    let pk = e.name("pk");
    let r = e.name(REV);
    match rev {
        Some(rev) => {
            let v = e.value(AttributeValue::N(rev.to_string()));
            e.condition(format!("attribute_exists({pk}) AND {r} = {v}"));
        }
        None => e.condition(format!(
            "attribute_exists({pk}) AND attribute_not_exists({r})"
        )),
    }
}

/// The attributes the queue indexes project (besides their keys): what a listing
/// filters on and what the lifecycle reads.
pub const PROJECTED: [&str; 10] = [
    STATUS,
    STATUS_SINCE,
    WAITING_SINCE,
    SNOOZE_UNTIL,
    PROMISED_REPLY_BY,
    PROMISE_FOR,
    PRIORITY,
    ASSIGNEE,
    REV,
    "channel",
];
