//! `GET /reports/waits?from=&to=&<filters>&limit=&cursor=`: the waits behind any
//! figure, oldest first, paged; `format=csv` exports the same rows (pages of up to
//! 10,000, the next page's cursor in `X-Next-Cursor`).

use crate::period::{Filter, period};
use crate::{Reports, Store, rfc3339};
use asyncdesk::http::{ApiError, json, query_param};
use asyncdesk::reports::Wait;
use asyncdesk::reports::summary::verdict;
use asyncdesk::store::waits::wait_token;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::json as j;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
pub const CSV_LIMIT: usize = 10_000;
/// Waits read for one answer at most: a page may hold fewer than `limit` (and an
/// empty one a cursor) when a filter keeps few.
pub const MAX_EXAMINED: usize = 50_000;
/// Waits per store read.
const READ_PAGE: usize = 1000;

pub async fn list<S: Store>(
    req: &Request,
    deps: &Reports<S>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let q = |k: &str| query_param(req.uri(), k);
    let p = period(req, &deps.hours, now)?;
    let filter = Filter::parse(req)?;
    let csv = match q("format").as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(f) => {
            return Err(ApiError::bad_request(format!(
                "format {f:?} is not json or csv"
            )));
        }
    };
    let (default, max) = if csv {
        (CSV_LIMIT, CSV_LIMIT)
    } else {
        (DEFAULT_LIMIT, MAX_LIMIT)
    };
    let limit =
        asyncdesk::http::count_param(req.uri(), "limit", default as u64, max as u64)? as usize;
    // The cursor is a wait's page token with `.` for `#` (safe in a query string).
    let mut after = q("cursor").map(|c| c.replace('.', "#"));
    if let Some(c) = &after
        && asyncdesk::lifecycle::order::leading_ms(c).is_none()
    {
        return Err(ApiError::new(
            400,
            "invalid_cursor",
            "cursor is not valid for this listing",
        ));
    }
    let fingerprint = deps.hours.fingerprint();
    let mut waits: Vec<Wait> = Vec::new();
    let mut recomputed = 0;
    let mut examined = 0;
    let mut next = None;
    'read: loop {
        // Store pages of their own size, whatever the limit: a filter that keeps few
        // waits costs a query per thousand, not one per wait.
        let page = deps
            .store
            .waits_page(p.from, p.to, after.as_deref(), READ_PAGE)
            .await?;
        for mut w in page.waits {
            examined += 1;
            if w.remeasure(&deps.hours, &fingerprint) {
                recomputed += 1;
            }
            let last = wait_token(&w);
            if filter.keeps(&w, &deps.hours, now) {
                waits.push(w);
            }
            // Full, or read enough for one answer: go on after this wait.
            if waits.len() == limit || examined == MAX_EXAMINED {
                next = Some(last);
                break 'read;
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let next = next.map(|t| t.replace('#', "."));
    if csv {
        return Ok(csv_response(&waits, next.as_deref(), now));
    }
    let rows: Vec<serde_json::Value> = waits
        .iter()
        .map(|w| {
            let mut v = j!(w);
            v["verdict"] = j!(verdict_text(w, now));
            v
        })
        .collect();
    Ok(json(
        200,
        &j!({
            "from": rfc3339(p.from),
            "to": rfc3339(p.to),
            "hours": deps.hours.fingerprint(),
            "recomputed": recomputed,
            "waits": rows,
            "next_cursor": next,
        }),
    ))
}

/// The promise's verdict at `now`: kept, broken, or open (not decided yet; or the
/// wait ended without an answer).
fn verdict_text(w: &Wait, now: DateTime<Utc>) -> &'static str {
    match verdict(w, now) {
        Some(true) => "kept",
        Some(false) => "broken",
        None => "undecided",
    }
}

const CSV_HEADER: &str = "conversation,channel,kind,started_at,ended_at,outcome,agent,promise_kind,promise_at,told_reply_by,business_minutes,wall_minutes,kept,verdict,hours";

/// A CSV field: quoted when it holds a comma, quote or line break; a leading
/// formula character is escaped (a spreadsheet must not run an agent id).
fn field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

fn csv_response(waits: &[Wait], next: Option<&str>, now: DateTime<Utc>) -> Response<Body> {
    let time = |t: Option<DateTime<Utc>>| t.map(rfc3339).unwrap_or_default();
    let minutes = |s: Option<i64>| {
        s.map(|v| format!("{}", (v as f64 / 60.0 * 100.0).round() / 100.0))
            .unwrap_or_default()
    };
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for w in waits {
        let row = [
            w.conversation.as_str().to_string(),
            w.channel.as_str().to_string(),
            w.kind.as_str().to_string(),
            rfc3339(w.started_at),
            time(w.ended_at),
            w.outcome.map_or("waiting", |o| o.as_str()).to_string(),
            w.agent.clone().unwrap_or_default(),
            w.measured.promise_kind.as_str().to_string(),
            time(w.measured.promise_at),
            time(w.told_reply_by),
            minutes(w.measured.business_seconds),
            minutes(w.measured.wall_seconds),
            w.measured.kept.map(|k| k.to_string()).unwrap_or_default(),
            verdict_text(w, now).to_string(),
            w.measured.hours.clone(),
        ];
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let mut resp = Response::builder()
        .status(200)
        .header("content-type", "text/csv; charset=utf-8")
        .header(
            "content-disposition",
            "attachment; filename=\"asyncdesk-waits.csv\"",
        );
    if let Some(n) = next {
        resp = resp.header("x-next-cursor", n);
    }
    resp.body(Body::from(out)).expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_escaped() {
        assert_eq!(field("alice"), "alice");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
    }
}
