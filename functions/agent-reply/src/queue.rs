//! `GET /conversations`: the agents' queue, paged from the store's queue indexes in
//! the order and with the filters asked for, and its cursors.

use crate::idempotency::digest;
use crate::{Agent, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Store, page_limit, view};
use asyncdesk::conversation::{Conversation, ConversationStatus};
use asyncdesk::hours::BusinessHours;
use asyncdesk::http::{ApiError, json, query_param};
use asyncdesk::ports::{AssigneeFilter, Cursor, Order, QueueQuery};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::json as j;

/// When an open conversation's answer is due: the reply-by its auto-reply promised
/// for the current wait, else the business-minute deadline from the first
/// unanswered customer message.
fn reply_due(c: &Conversation, hours: &BusinessHours) -> Option<DateTime<Utc>> {
    let state = asyncdesk::lifecycle::State::of(c);
    if c.status != ConversationStatus::Open {
        return None;
    }
    state
        .live_promise()
        .or_else(|| hours.reply_by(c.waiting_since?))
}

/// A queue cursor: where the listing goes on, bound to the listing (status, order,
/// filters) and checksummed, so another listing's or a mangled one is refused.
pub fn queue_cursor(listing: &str, cursor: &Cursor) -> String {
    use base64::Engine;
    let body = j!({ "l": listing, "c": cursor.class, "w": cursor.status_after, "p": cursor.promise_after });
    let sum = digest(&[b"asyncdesk/queue-cursor/v2", body.to_string().as_bytes()]);
    let mut signed = body;
    signed["s"] = j!(&sum[..16]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed.to_string())
}

pub fn read_queue_cursor(cursor: &str, listing: &str) -> Result<Cursor, ApiError> {
    use base64::Engine;
    let invalid = || {
        ApiError::new(
            400,
            "invalid_cursor",
            "cursor is not valid for this listing",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match &v[k] {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) => Ok(Some(s.clone())),
            _ => Err(invalid()),
        }
    };
    let parsed = Cursor {
        class: v["c"]
            .as_u64()
            .and_then(|c| u8::try_from(c).ok())
            .ok_or_else(invalid)?,
        status_after: text("w")?,
        promise_after: text("p")?,
    };
    if v["l"] != listing || queue_cursor(listing, &parsed) != cursor {
        return Err(invalid());
    }
    Ok(parsed)
}

/// A conversation as the queue (and the change feed) shows it: with when its
/// answer is due and whether that has passed.
pub(crate) fn row<S, O>(
    c: &Conversation,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let mut v = view(c, now);
    if let Some(o) = v.as_object_mut() {
        let due = reply_due(c, &deps.hours);
        o.insert("reply_due".into(), j!(due));
        o.insert("overdue".into(), j!(due.is_some_and(|d| now > d)));
    }
    v
}

pub(crate) async fn list<S: Store, O>(
    req: &Request,
    deps: &Agent<S, O>,
    agent: &str,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    use asyncdesk::conversation::{Channel, Priority};
    let q = |k: &str| query_param(req.uri(), k);
    let status = match q("status") {
        None => ConversationStatus::Open,
        Some(s) => ConversationStatus::parse(&s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status {s:?} must be one of open, pending, snoozed, resolved"
            ))
        })?,
    };
    let order = match q("order").as_deref() {
        None if status == ConversationStatus::Open => Order::Due,
        None => Order::Recent,
        Some("due") if status == ConversationStatus::Open => Order::Due,
        Some("waiting") if status != ConversationStatus::Resolved => Order::Waiting,
        Some("recent") => Order::Recent,
        Some(o) => {
            return Err(ApiError::bad_request(format!(
                "order {o:?} is not one of due (open only), waiting (not resolved), recent"
            )));
        }
    };
    let channel = match q("channel") {
        None => None,
        Some(c) => Some(Channel::parse(&c).ok_or_else(|| {
            ApiError::bad_request(format!("channel {c:?} is not whatsapp, telegram or email"))
        })?),
    };
    let assignee = match q("assignee").as_deref() {
        None => AssigneeFilter::Any,
        Some("none") => AssigneeFilter::Unassigned,
        Some("me") => AssigneeFilter::Agent(agent.to_string()),
        Some(a) if deps.keys.knows(a) => AssigneeFilter::Agent(a.to_string()),
        Some(a) => {
            return Err(ApiError::bad_request(format!(
                "assignee {a:?} is not an agent id, me or none"
            )));
        }
    };
    let priority = match q("priority").as_deref() {
        None => None,
        Some("normal") => Some(Priority::Normal),
        Some("urgent") => Some(Priority::Urgent),
        Some(p) => {
            return Err(ApiError::bad_request(format!(
                "priority {p:?} is not normal or urgent"
            )));
        }
    };
    let limit = page_limit(req, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let listing = format!(
        "{}|{}|{}|{}|{}",
        status.as_str(),
        order.as_str(),
        channel.map_or("", |c| c.as_str()),
        match &assignee {
            AssigneeFilter::Any => "".to_string(),
            AssigneeFilter::Unassigned => "none".to_string(),
            AssigneeFilter::Agent(a) => format!("={a}"),
        },
        priority.map_or("", |p| if p == Priority::Urgent {
            "urgent"
        } else {
            "normal"
        }),
    );
    let cursor = q("cursor")
        .as_deref()
        .map(|c| read_queue_cursor(c, &listing))
        .transpose()?;
    let query = QueueQuery {
        status,
        order,
        channel,
        assignee,
        priority,
        limit,
        cursor,
    };
    let hours = &deps.hours;
    let reply_by = |at: DateTime<Utc>| hours.reply_by(at);
    let page = deps.store.queue_page(&query, &reply_by, now).await?;
    let conversations: Vec<serde_json::Value> = page
        .conversations
        .iter()
        .map(|c| row(c, deps, now))
        .collect();
    let next_cursor = page.next.as_ref().map(|c| queue_cursor(&listing, c));
    Ok(json(
        200,
        &j!({ "conversations": conversations, "next_cursor": next_cursor }),
    ))
}
