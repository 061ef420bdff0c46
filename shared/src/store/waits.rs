//! The waits (docs/data-model.md, "Waits"): one item per customer wait, in its
//! conversation's partition (`sk = WAIT#<ms13>`), so erasing a conversation erases
//! its waits and they expire with it. The `by_wait` index lists them by the month
//! they started (`wm = WAITS#2026-12`, UTC) in the order they started (`wm_at =
//! <ms13>#<conversation id>`), so a period is one query per month. Written from the
//! table's stream by one conditional update per change; read by the reports.

use super::dynamo::*;
use super::expr::{Expr, condition_failed};
use super::items::{EXPIRES_AT, PK, SK, conversation_pk};
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
/// The index of the waits by month.
pub const WAIT_INDEX: &str = "by_wait";
pub const WM: &str = "wm";
pub const WM_AT: &str = "wm_at";
/// How long a wait is kept: two years of reports (less under a shorter
/// `MESSAGE_RETENTION_DAYS`).
const WAIT_TTL_SECS: i64 = 731 * 24 * 3600;

/// The `by_wait` partition of the waits that started in `at`'s month (UTC).
pub fn wait_month(at: DateTime<Utc>) -> String {
    format!("WAITS#{:04}-{:02}", at.year(), at.month())
}

fn wait_sk(started_at: DateTime<Utc>) -> String {
    format!("WAIT#{}", ms13(started_at))
}

fn wait_key(key: &WaitKey) -> Item {
    Item::from([
        (PK.into(), s(conversation_pk(&key.conversation))),
        (SK.into(), s(wait_sk(key.started_at))),
    ])
}

/// A wait's page token: its sort key in `by_wait` (a page goes on after it).
pub fn wait_token(w: &Wait) -> String {
    format!("{}#{}", ms13(w.started_at), w.conversation)
}

/// When a token's wait started, and its `by_wait` start key (`None`: no token).
fn start_key(token: &str) -> Option<(DateTime<Utc>, Item)> {
    let (ms, id) = token.split_once('#')?;
    let at = DateTime::from_timestamp_millis(ms.parse().ok()?)?;
    let id = ConversationId::parse(id)?;
    Some((
        at,
        Item::from([
            (PK.into(), s(conversation_pk(&id))),
            (SK.into(), s(wait_sk(at))),
            (WM.into(), s(wait_month(at))),
            (WM_AT.into(), s(token)),
        ]),
    ))
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

impl DynamoStore {
    /// What every write fills in when the item has none yet.
    fn set_identity(&self, e: &mut Expr, key: &WaitKey, kind: Kind) {
        e.set_if_absent("item_type", s(TYPE_WAIT));
        e.set_if_absent("conversation", s(key.conversation.as_str()));
        e.set_if_absent("channel", s(key.channel.as_str()));
        e.set_if_absent("started_at", ms(key.started_at));
        e.set_if_absent("kind", s(kind.as_str()));
        e.set_if_absent(WM, s(wait_month(key.started_at)));
        e.set_if_absent(
            WM_AT,
            s(format!("{}#{}", ms13(key.started_at), key.conversation)),
        );
        let two_years = key.started_at.timestamp() + WAIT_TTL_SECS;
        let expiry = self
            .expiry(key.started_at)
            .map_or(two_years, |r| r.min(two_years));
        e.set_if_absent(EXPIRES_AT, n(expiry));
    }

    /// One page of `by_wait`'s `partition` (a month), the waits started in
    /// `[from, to)`, oldest first or newest first, after `start`: its items and
    /// where the next page starts.
    async fn month_page(
        &self,
        partition: &str,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        oldest_first: bool,
        start: Option<Item>,
        limit: usize,
    ) -> Result<(Vec<Wait>, Option<Item>), StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(WAIT_INDEX)
            .key_condition_expression("#wm = :wm AND #at BETWEEN :lo AND :hi")
            .expression_attribute_names("#wm", WM)
            .expression_attribute_names("#at", WM_AT)
            .expression_attribute_values(":wm", s(partition))
            .expression_attribute_values(":lo", s(ms13(from)))
            .expression_attribute_values(":hi", s(ms13(to)))
            .scan_index_forward(oldest_first)
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable)?;
        let waits = out.items().iter().map(wait_of).collect::<Result<_, _>>()?;
        Ok((waits, out.last_evaluated_key().cloned()))
    }
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
                self.set_identity(&mut e, key, *kind);
                // A start after the end (never in stream order) changes nothing.
                not_ended(&mut e);
                e.set_if_absent("promise_kind", s(measured.promise_kind.as_str()));
                e.set_if_absent("hours", s(&measured.hours));
                if let Some(p) = measured.promise_at {
                    e.set_if_absent("promise_at", ms(p));
                }
                key
            }
            WaitChange::Promise { key, reply_by } => {
                // The first promise told for the wait is the one it is measured by.
                self.set_identity(&mut e, key, Kind::First);
                not_ended(&mut e);
                let told = e.name("told_reply_by");
                e.condition(format!("attribute_not_exists({told})"));
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
                self.set_identity(&mut e, key, Kind::First);
                not_ended(&mut e);
                e.set("ended_at", ms(*at));
                e.set("outcome", s(outcome.as_str()));
                if let Some(a) = agent {
                    e.set("agent", s(a));
                }
                if let Some(t) = told {
                    e.set_if_absent("told_reply_by", ms(*t));
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
            // Ended (or promised) already: a redelivered change.
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn get_wait(&self, key: &WaitKey) -> Result<Option<Wait>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(wait_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(wait_of).transpose()
    }

    async fn recent_waits(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Wait>, StoreError> {
        let mut waits = Vec::new();
        let mut month = until;
        while waits.len() < limit && wait_month(month) >= wait_month(since) {
            let mut start = None;
            loop {
                let (page, next) = self
                    .month_page(
                        &wait_month(month),
                        (since, until),
                        false,
                        start,
                        limit - waits.len(),
                    )
                    .await?;
                waits.extend(page);
                match next {
                    Some(k) if waits.len() < limit => start = Some(k),
                    _ => break,
                }
            }
            month = previous_month_end(month);
        }
        Ok(waits)
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
            Some(token) => Some(
                start_key(token)
                    .filter(|(at, _)| *at >= from && *at < to)
                    .ok_or(StoreError::InvalidCursor)?,
            ),
        };
        let mut month = resume.as_ref().map_or(from, |(at, _)| *at);
        let mut page = WaitPage::default();
        while month < to {
            let partition = wait_month(month);
            let mut start = resume
                .as_ref()
                .filter(|(at, _)| wait_month(*at) == partition)
                .map(|(_, key)| key.clone());
            loop {
                let (waits, next) = self
                    .month_page(
                        &partition,
                        (from, to),
                        true,
                        start,
                        limit - page.waits.len(),
                    )
                    .await?;
                for w in waits {
                    let token = wait_token(&w);
                    page.waits.push(w);
                    if page.waits.len() == limit {
                        page.next = Some(token);
                        return Ok(page);
                    }
                }
                match next {
                    Some(k) => start = Some(k),
                    None => break,
                }
            }
            month = next_month(month);
        }
        Ok(page)
    }
}

/// The last instant of the month before `at`'s.
fn previous_month_end(at: DateTime<Utc>) -> DateTime<Utc> {
    chrono::TimeZone::with_ymd_and_hms(&Utc, at.year(), at.month(), 1, 0, 0, 0)
        .single()
        .map_or(DateTime::<Utc>::MIN_UTC, |first| {
            first - chrono::Duration::milliseconds(1)
        })
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
