//! `GET /changes?since=<token>`: the conversations changed since the token, for the
//! desk to stay current without reloading. Each answer gives the next token. The
//! feed is the `by_change` index (every conversation by its last write); a read
//! starts `OVERLAP_MS` before the token, because an index entry can appear a moment
//! after its write, so a change may come twice (applying one is idempotent) but is
//! not missed. A token older than `MAX_AGE_MINUTES`, or more changes than one
//! answer holds, answer `resync: true`: re-read the queue.

use crate::{Agent, Store};
use asyncdesk::http::{ApiError, json, query_param};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::json as j;

pub const OVERLAP_MS: i64 = 5_000;
pub const MAX_AGE_MINUTES: i64 = 15;
/// Changes read per feed partition and answer.
pub const PER_SHARD: i32 = 50;

pub(crate) async fn changes<S: Store, O>(
    req: &Request,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let next = now.timestamp_millis().to_string();
    let Some(since) = query_param(req.uri(), "since") else {
        // The first call: where to start.
        return Ok(json(
            200,
            &j!({ "changes": [], "since": next, "resync": false }),
        ));
    };
    let since = since
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .filter(|t| *t <= now + chrono::Duration::minutes(1))
        .ok_or_else(|| ApiError::bad_request("since must be a token from an earlier answer"))?;
    if since < now - chrono::Duration::minutes(MAX_AGE_MINUTES) {
        return Ok(json(
            200,
            &j!({ "changes": [], "since": next, "resync": true }),
        ));
    }
    let after = since - chrono::Duration::milliseconds(OVERLAP_MS);
    let found = deps.store.changed_since(after, PER_SHARD).await?;
    let changes: Vec<serde_json::Value> = found
        .conversations
        .iter()
        .map(|c| crate::queue::row(c, deps, now))
        .collect();
    Ok(json(
        200,
        &j!({ "changes": changes, "since": next, "resync": found.truncated }),
    ))
}
