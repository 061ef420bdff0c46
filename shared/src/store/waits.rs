//! The waits (docs/data-model.md, "Waits"): one item per customer wait, in a
//! partition of the month it started (`WAITS#2026-12`, UTC), sorted by its start
//! (`<ms13>#<conversation id>`), so a period is one query per month. Written from
//! the table's stream by one conditional update per change; read by the reports.

use super::dynamo::*;
use super::expr::{Expr, condition_failed};
use super::items::{EXPIRES_AT, PK, SK};
use crate::conversation::{Channel, ConversationId};
use crate::lifecycle::keys::ms13;
use crate::ports::{StoreError, WaitPage, WaitStore};
use crate::reports::measure::{Measured, PromiseKind};
use crate::reports::{Kind, Outcome, Side, Wait, WaitChange, WaitKey};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Datelike, Utc};
use std::collections::HashMap;

pub const TYPE_WAIT: &str = "wait";
/// How long a wait is kept: two years of reports.
const WAIT_TTL_SECS: i64 = 731 * 24 * 3600;

/// The partition of the waits that started in `at`'s month (UTC).
pub fn wait_pk(at: DateTime<Utc>) -> String {
    format!("WAITS#{:04}-{:02}", at.year(), at.month())
}

fn wait_key(key: &WaitKey) -> Item {
    Item::from([
        (PK.into(), s(wait_pk(key.started_at))),
        (
            SK.into(),
            s(format!("{}#{}", ms13(key.started_at), key.conversation)),
        ),
    ])
}

fn ms(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp_millis())
}

/// The figures, as SET clauses (every write carries the latest measurement).
fn set_measured(e: &mut Expr, m: &Measured) {
    match m.promise_at {
        Some(p) => e.set("promise_at", ms(p)),
        None => e.remove("promise_at"),
    }
    e.set("promise_kind", s(m.promise_kind.as_str()));
    if let Some(b) = m.business_seconds {
        e.set("business_s", n(b));
    }
    if let Some(w) = m.wall_seconds {
        e.set("wall_s", n(w));
    }
    if let Some(k) = m.kept {
        e.set("kept", AttributeValue::Bool(k));
    }
    e.set("hours", s(&m.hours));
}

/// What every write fills in when the item has none yet.
fn set_identity(e: &mut Expr, key: &WaitKey, kind: Kind) {
    e.set_if_absent("item_type", s(TYPE_WAIT));
    e.set_if_absent("conversation", s(key.conversation.as_str()));
    e.set_if_absent("channel", s(key.channel.as_str()));
    e.set_if_absent("started_at", ms(key.started_at));
    e.set_if_absent("kind", s(kind.as_str()));
    e.set_if_absent(EXPIRES_AT, n(key.started_at.timestamp() + WAIT_TTL_SECS));
}

#[async_trait]
impl WaitStore for DynamoStore {
    async fn record_wait(
        &self,
        change: &WaitChange,
        measured: &Measured,
    ) -> Result<(), StoreError> {
        let mut e = Expr::default();
        let not_ended = |e: &mut Expr| {
            let ended = e.name("ended_at");
            e.condition(format!("attribute_not_exists({ended})"));
        };
        let key = match change {
            WaitChange::Start { key, kind } => {
                set_identity(&mut e, key, *kind);
                // A start after the end (never in stream order) changes nothing.
                not_ended(&mut e);
                for (attr, v) in [
                    ("promise_kind", s(measured.promise_kind.as_str())),
                    ("hours", s(&measured.hours)),
                ] {
                    e.set_if_absent(attr, v);
                }
                if let Some(p) = measured.promise_at {
                    e.set_if_absent("promise_at", ms(p));
                }
                key
            }
            WaitChange::Promise { key, reply_by } => {
                set_identity(&mut e, key, Kind::First);
                not_ended(&mut e);
                e.set("told_reply_by", ms(*reply_by));
                set_measured(&mut e, measured);
                key
            }
            WaitChange::End {
                key,
                at,
                outcome,
                agent,
                told,
            } => {
                // A wait whose start was not recorded (it began before waits were)
                // counts as a first one.
                set_identity(&mut e, key, Kind::First);
                not_ended(&mut e);
                e.set("ended_at", ms(*at));
                e.set("outcome", s(outcome.as_str()));
                if let Some(a) = agent {
                    e.set("agent", s(a));
                }
                if let Some(t) = told {
                    e.set("told_reply_by", ms(*t));
                }
                set_measured(&mut e, measured);
                key
            }
        };
        match e
            .update_item(&self.client, &self.table, wait_key(key))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Ended already: a redelivered change, or one after the end.
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn waits_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<WaitPage, StoreError> {
        let limit = limit.max(1);
        let resume = match after {
            None => None,
            Some(token) => {
                let at = crate::lifecycle::order::leading_ms(token)
                    .and_then(DateTime::from_timestamp_millis)
                    .ok_or_else(|| StoreError::Invalid("page token is not a wait's".into()))?;
                Some((at, token.to_string()))
            }
        };
        let mut month = resume.as_ref().map_or(from, |(at, _)| *at);
        let mut page = WaitPage::default();
        while month < to {
            let pk = wait_pk(month);
            let mut start = resume
                .as_ref()
                .filter(|(at, _)| wait_pk(*at) == pk)
                .map(|(_, sk)| Item::from([(PK.into(), s(&pk)), (SK.into(), s(sk))]));
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                    .expression_attribute_values(":pk", s(&pk))
                    .expression_attribute_values(":lo", s(ms13(from)))
                    .expression_attribute_values(":hi", s(ms13(to)))
                    .set_exclusive_start_key(start.take())
                    .limit(i32::try_from(limit - page.waits.len()).unwrap_or(i32::MAX))
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in out.items() {
                    page.waits.push(wait_of(item)?);
                    if page.waits.len() == limit {
                        page.next = item.get(SK).and_then(|v| v.as_s().ok()).cloned();
                        return Ok(page);
                    }
                }
                match out.last_evaluated_key() {
                    Some(k) => start = Some(k.clone()),
                    None => break,
                }
            }
            month = next_month(month);
        }
        Ok(page)
    }
}

/// The first instant of the month after `at`'s.
fn next_month(at: DateTime<Utc>) -> DateTime<Utc> {
    let (y, m) = if at.month() == 12 {
        (at.year() + 1, 1)
    } else {
        (at.year(), at.month() + 1)
    };
    chrono::TimeZone::with_ymd_and_hms(&Utc, y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn wait_of(item: &HashMap<String, AttributeValue>) -> Result<Wait, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("wait item without {what}"));
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str);
    let time = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis)
    };
    let secs = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
    };
    Ok(Wait {
        conversation: text("conversation")
            .and_then(ConversationId::parse)
            .ok_or_else(|| corrupt("conversation"))?,
        channel: text("channel")
            .and_then(Channel::parse)
            .ok_or_else(|| corrupt("channel"))?,
        kind: text("kind").and_then(Kind::parse).unwrap_or(Kind::First),
        started_at: time("started_at").ok_or_else(|| corrupt("started_at"))?,
        ended_at: time("ended_at"),
        outcome: text("outcome").and_then(Outcome::parse),
        agent: text("agent").map(str::to_string),
        told_reply_by: time("told_reply_by"),
        measured: Measured {
            promise_at: time("promise_at"),
            promise_kind: match text("promise_kind") {
                Some("told") => PromiseKind::Told,
                _ => PromiseKind::Target,
            },
            business_seconds: secs("business_s"),
            wall_seconds: secs("wall_s"),
            kept: item.get("kept").and_then(|v| v.as_bool().ok()).copied(),
            hours: text("hours").unwrap_or_default().to_string(),
        },
    })
}

/// A conversation item's stream image, as the reports read it: its id, channel,
/// lifecycle state (`state::read`, as every store read) and `answered_by`. `None`
/// when the image is not a conversation's.
pub fn side_of_image(image: serde_dynamo::Item) -> Result<Option<Side>, StoreError> {
    let item: Item = image.into();
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str);
    if text("item_type") != Some(super::items::TYPE_CONVERSATION) {
        return Ok(None);
    }
    let corrupt = |what: &str| StoreError::Corrupt(format!("conversation image without {what}"));
    Ok(Some(Side {
        id: text("id")
            .and_then(ConversationId::parse)
            .ok_or_else(|| corrupt("id"))?,
        channel: text("channel")
            .and_then(Channel::parse)
            .ok_or_else(|| corrupt("channel"))?,
        state: super::state::read(&item)
            .map(|(state, _)| state)
            .ok_or_else(|| corrupt("status"))?,
        answered_by: text("answered_by").map(str::to_string),
    }))
}

/// A wait's page token: its sort key (a page of `waits_page` goes on after it).
pub fn wait_token(w: &Wait) -> String {
    format!("{}#{}", ms13(w.started_at), w.conversation)
}
