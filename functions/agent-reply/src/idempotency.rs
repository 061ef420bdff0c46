//! `Idempotency-Key` on the agent API's sends (replies and notes): a conditional
//! write claims the key before anything happens; a repeat with the same body gets
//! the first answer (waiting, bounded, while the first is in flight); the same key
//! with another body is 422 `idempotency_key_reused`.

use crate::{Agent, Store};
use asyncdesk::conversation::ConversationId;
use asyncdesk::http::ApiError;
use asyncdesk::ports::IdempotencyRecord;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use std::future::Future;
use tracing::{info, warn};

/// How long an idempotency key stays (24 hours), how long the request holding it may
/// take, and how long a repeat waits for it.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;
pub const IDEMPOTENCY_LEASE_SECS: i64 = 30;
pub const IDEMPOTENCY_WAIT_MS: u64 = 10_000;

/// The error code of a multi-part reply of which some parts went out: its answer
/// stays with the key for good.
pub(crate) const PARTIALLY_SENT: &str = "partially_sent";

pub(crate) fn digest(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// Runs `run` once per `Idempotency-Key` (of this agent, `scope` and conversation);
/// without the header, just runs it.
pub(crate) async fn once<S: Store, O, F, Fut>(
    id: &ConversationId,
    scope: &[u8],
    req: &Request,
    agent: &str,
    deps: &Agent<S, O>,
    now: DateTime<Utc>,
    run: F,
) -> Result<Response<Body>, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let Some(raw_key) = req.headers().get("idempotency-key") else {
        return run().await;
    };
    let key = raw_key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request("Idempotency-Key must be 1-255 visible ASCII characters")
        })?;
    // Keys are the agent's own: two agents may pick the same one.
    let scoped = if scope.is_empty() {
        digest(&[agent.as_bytes(), key.as_bytes()])
    } else {
        digest(&[agent.as_bytes(), scope, key.as_bytes()])
    };
    // The same body: the same conversation and JSON (key order and spacing aside).
    let canonical = serde_json::from_slice::<serde_json::Value>(req.body().as_ref())
        .map(|v| v.to_string().into_bytes())
        .unwrap_or_else(|_| req.body().as_ref().to_vec());
    let body_hash = digest(&[id.as_str().as_bytes(), &canonical]);
    let started = std::time::Instant::now();
    let claim = |at: DateTime<Utc>| {
        deps.store.claim_idempotency(
            &scoped,
            &body_hash,
            at,
            at + chrono::Duration::seconds(IDEMPOTENCY_LEASE_SECS),
            at + chrono::Duration::hours(IDEMPOTENCY_TTL_HOURS),
        )
    };
    let mut held = claim(now).await?;
    loop {
        match held {
            None => break,
            Some(ref record) if record.body_hash() != body_hash => {
                return Err(ApiError::new(
                    422,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for another request; use a new key",
                ));
            }
            Some(IdempotencyRecord::Done { status, body, .. }) => {
                info!(event = "idempotent_replay", conversation = %id, agent, "answered from the first request");
                return Ok(Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .header("idempotent-replayed", "true")
                    .body(Body::Binary(body.into_bytes()))
                    .expect("static parts are valid"));
            }
            Some(IdempotencyRecord::InFlight { lease_until, .. }) => {
                if Utc::now() > lease_until {
                    // The first request died mid-way: it may have sent. Never resend.
                    return Err(ApiError::new(
                        409,
                        "idempotency_unresolved",
                        "the first request with this key did not finish; read the thread before sending again with a new key",
                    ));
                }
                if started.elapsed() > std::time::Duration::from_millis(IDEMPOTENCY_WAIT_MS) {
                    return Err(ApiError::new(
                        409,
                        "idempotency_in_progress",
                        "the first request with this key is still running; retry in a moment",
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                held = match deps.store.get_idempotency(&scoped).await? {
                    // Released (it sent nothing): claim it ourselves.
                    None => claim(Utc::now()).await?,
                    other => other,
                };
            }
        }
    }
    // Ours: answer, and keep the answer for the repeats.
    let (resp, partial) = match run().await {
        Ok(r) => (r, false),
        Err(e) => {
            let partial = e.code == PARTIALLY_SENT;
            (e.into_response(), partial)
        }
    };
    let status = resp.status().as_u16();
    // Nothing went out and a retry may succeed (rate limit, outage): free the key.
    // Once any part went out, the key stays with this answer.
    let stored = if matches!(status, 429 | 502 | 503) && !partial {
        deps.store.release_idempotency(&scoped).await
    } else {
        let body = String::from_utf8_lossy(resp.body().as_ref()).into_owned();
        deps.store.finish_idempotency(&scoped, status, &body).await
    };
    if let Err(e) = stored {
        warn!(error = %e, "idempotency key not updated; it expires by itself");
    }
    Ok(resp)
}
