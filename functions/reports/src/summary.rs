//! `GET /reports/summary?from=&to=&group_by=day|week|channel|agent|hour_of_week`
//! (and the filters of `period.rs`): the figures of the waits that started in the
//! period, in total and per group, each group with the link to its waits (with the
//! same filters); and the conversations overdue now (all of them: the filters
//! choose waits, not the queue).

use crate::period::{Filter, parse_group_by, period};
use crate::{Reports, Store, read_waits, rfc3339};
use asyncdesk::conversation::{ConversationStatus, Priority};
use asyncdesk::http::{ApiError, json, query_param};
use asyncdesk::lifecycle::State;
use asyncdesk::ports::{AssigneeFilter, Order, QueueQuery};
use asyncdesk::reports::Wait;
use asyncdesk::reports::summary::{figures, grouped};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::json as j;

/// Queue pages read to count what is overdue (100 each).
const OVERDUE_PAGES: usize = 50;

pub async fn summary<S: Store>(
    req: &Request,
    deps: &Reports<S>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let p = period(req, &deps.hours, now)?;
    let filter = Filter::parse(req)?;
    let group_by = query_param(req.uri(), "group_by")
        .map(|b| parse_group_by(&b))
        .transpose()?;
    let (waits, recomputed) = read_waits(deps, p.from, p.to).await?;
    let waits: Vec<Wait> = waits
        .into_iter()
        .filter(|w| filter.keeps(w, &deps.hours, now))
        .collect();
    let all: Vec<&Wait> = waits.iter().collect();
    let base = format!(
        "/reports/waits?from={}&to={}{}",
        encode(&rfc3339(p.from)),
        encode(&rfc3339(p.to)),
        filter.query()
    );
    let groups = group_by.map(|by| {
        grouped(&waits, by, deps.hours.timezone, now)
            .into_iter()
            .map(|g| {
                let mut v = j!(g);
                v["waits_url"] = j!(format!(
                    "{base}&group_by={}&group={}",
                    by.as_str(),
                    encode(&g.key)
                ));
                v
            })
            .collect::<Vec<_>>()
    });
    let overdue = overdue_now(deps, now).await?;
    Ok(json(
        200,
        &j!({
            "from": rfc3339(p.from),
            "to": rfc3339(p.to),
            "timezone": deps.hours.timezone.name(),
            "hours": deps.hours.fingerprint(),
            "recomputed": recomputed,
            "first_response_minutes": deps.hours.first_response_minutes,
            "totals": figures(&all, now),
            "overdue_now": overdue,
            "group_by": group_by.map(|b| b.as_str()),
            "groups": groups,
            "waits_url": base,
        }),
    ))
}

/// Open conversations whose answer is due before `now` (the auto-reply's promise,
/// else the business-minute deadline): read from the queue in due order, urgent
/// and normal apart, up to the first that is not overdue.
async fn overdue_now<S: Store>(deps: &Reports<S>, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let hours = &deps.hours;
    let reply_by = |at: DateTime<Utc>| hours.reply_by(at);
    let mut count = 0u64;
    for priority in [Priority::Urgent, Priority::Normal] {
        let mut cursor = None;
        'pages: for _ in 0..OVERDUE_PAGES {
            let query = QueueQuery {
                status: ConversationStatus::Open,
                order: Order::Due,
                channel: None,
                assignee: AssigneeFilter::Any,
                priority: Some(priority),
                limit: 100,
                cursor,
            };
            let page = deps.store.queue_page(&query, &reply_by, now).await?;
            for c in &page.conversations {
                let due = State::of(c)
                    .live_promise()
                    .or_else(|| hours.reply_by(c.waiting_since?));
                if due.is_some_and(|d| now > d) {
                    count += 1;
                } else {
                    break 'pages;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(count)
}

/// Percent-encodes a query value.
pub(crate) fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
