//! `GET /availability[?at=<RFC 3339>]`: public and cacheable (open now, closes at,
//! next open, reply-by), so a website can ask whether someone is there. Its own
//! function: it reads the schedule only, and has no permission on the table.

use asyncdesk::hours::BusinessHours;
use asyncdesk::http::{ApiError, json, query_param};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};

/// Answers a request to the availability function (only `GET /availability`).
pub fn handle(req: &Request, hours: &BusinessHours, now: DateTime<Utc>) -> Response<Body> {
    let request_id = asyncdesk::http::request_id(req);
    let _span = tracing::info_span!("availability", request_id = %request_id).entered();
    let resp = if req.uri().path().trim_end_matches('/') != "/availability" {
        ApiError::not_found("no such route").into_response()
    } else if req.method() != "GET" {
        ApiError::method_not_allowed().into_response()
    } else {
        availability(req, hours, now)
    };
    asyncdesk::http::with_request_id(resp, &request_id)
}

fn http_value(s: &'static str) -> lambda_http::http::HeaderValue {
    lambda_http::http::HeaderValue::from_static(s)
}

/// How far from now `?at=` may be.
pub const AVAILABILITY_RANGE_YEARS: i64 = 5;

/// `GET /availability`: public (a website asks it whether to show live chat), so it
/// says nothing but the schedule. Cacheable for a minute when it answers for now.
fn availability(req: &Request, hours: &BusinessHours, now: DateTime<Utc>) -> Response<Body> {
    let at = match query_param(req.uri(), "at") {
        None => now,
        Some(raw) => {
            // A '+' in a query string decodes as a space when the client did not
            // percent-encode it.
            let parsed = DateTime::parse_from_rfc3339(raw.trim())
                .or_else(|_| DateTime::parse_from_rfc3339(&raw.trim().replace(' ', "+")));
            match parsed {
                Ok(t)
                    if (t.with_timezone(&Utc) - now).num_days().abs()
                        <= AVAILABILITY_RANGE_YEARS * 366 =>
                {
                    t.with_timezone(&Utc)
                }
                Ok(_) => {
                    return ApiError::bad_request(format!(
                        "at must be within {AVAILABILITY_RANGE_YEARS} years of now"
                    ))
                    .into_response();
                }
                Err(_) => {
                    return ApiError::bad_request(format!(
                        "at {raw:?} is not an RFC 3339 instant like 2026-11-30T08:00:00+01:00"
                    ))
                    .into_response();
                }
            }
        }
    };
    let a = hours.availability(at);
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&hours.timezone)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    };
    // A struct, so the fields keep this order.
    #[derive(serde::Serialize)]
    struct Answer {
        at: String,
        timezone: &'static str,
        open: bool,
        closes_at: Option<String>,
        next_open: Option<String>,
        reply_by: Option<String>,
    }
    let mut resp = json(
        200,
        &Answer {
            at: local(at),
            timezone: hours.timezone.name(),
            open: a.open,
            closes_at: a.closes_at.map(local),
            next_open: a.next_open.map(local),
            reply_by: a.reply_by.map(local),
        },
    );
    let cache = if query_param(req.uri(), "at").is_some() {
        "public, max-age=3600"
    } else {
        "public, max-age=60"
    };
    resp.headers_mut()
        .insert("cache-control", http_value(cache));
    resp.headers_mut()
        .insert("access-control-allow-origin", http_value("*"));
    resp
}
