//! The promise reports (docs/reports.md): `Authorization: Bearer <key>`, or the
//! desk's session cookie with the `X-Asyncdesk-Desk` header. One file per route:
//! - `summary.rs`: `GET /reports/summary` (the figures, grouped)
//! - `waits.rs`: `GET /reports/waits` (the waits behind a figure, paged; `format=csv`)
//! - `calibration.rs`: `GET /reports/calibration` (what `first_response_minutes`
//!   would keep 95% of promises)
//!
//! `period.rs` reads the period and the filters every route shares. Business minutes
//! are measured under the current `BUSINESS_HOURS`: a wait measured under others is
//! measured again from its raw times, and every answer names the hours it used.

mod calibration;
mod period;
mod summary;
mod waits;

use asyncdesk::auth::AgentKeys;
use asyncdesk::auth::session::{self, SessionSecret};
use asyncdesk::hours::BusinessHours;
use asyncdesk::http::ApiError;
use asyncdesk::ports::{ConversationStore, WaitStore};
use asyncdesk::reports::Wait;
use asyncdesk::reports::config::ReportsConfig;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};

/// What the reports read: the waits, and the queue (for what is overdue now).
pub trait Store: ConversationStore + WaitStore {}
impl<T: ConversationStore + WaitStore> Store for T {}

/// The most waits one answer reads (a year of a busy desk is fewer).
pub const MAX_WAITS: usize = 200_000;
/// Waits per store read.
const READ_PAGE: usize = 1000;

pub struct Reports<S> {
    pub store: S,
    pub keys: AgentKeys,
    pub hours: BusinessHours,
    pub session_secret: Option<SessionSecret>,
}

impl<S: Store> Reports<S> {
    pub fn new(store: S, config: &ReportsConfig) -> Self {
        Reports {
            store,
            keys: config.agent_keys.clone(),
            hours: config.hours.clone(),
            session_secret: config.desk_session_secret.clone(),
        }
    }
}

pub async fn handle<S: Store>(
    req: &Request,
    deps: &Reports<S>,
    now: DateTime<Utc>,
) -> Response<Body> {
    use tracing::Instrument;
    let request_id = asyncdesk::http::request_id(req);
    let span = tracing::info_span!("reports", request_id = %request_id);
    let resp = match route(req, deps, now).instrument(span).await {
        Ok(resp) => resp,
        Err(e) => {
            let unauthorized = e.status == 401;
            let mut resp = e.into_response();
            if unauthorized {
                resp.headers_mut().insert(
                    "www-authenticate",
                    lambda_http::http::HeaderValue::from_static("Bearer"),
                );
            }
            resp
        }
    };
    asyncdesk::http::with_request_id(resp, &request_id)
}

async fn route<S: Store>(
    req: &Request,
    deps: &Reports<S>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().trim_end_matches('/');
    let known = matches!(
        path,
        "/reports/summary" | "/reports/waits" | "/reports/calibration"
    );
    if !known {
        return Err(ApiError::not_found("no such route"));
    }
    session::caller(req.headers(), &deps.keys, deps.session_secret.as_ref(), now).ok_or_else(
        || ApiError::unauthorized("a valid 'Authorization: Bearer <key>' header is required"),
    )?;
    if req.method() != "GET" {
        return Err(ApiError::method_not_allowed());
    }
    match path {
        "/reports/summary" => summary::summary(req, deps, now).await,
        "/reports/waits" => waits::list(req, deps, now).await,
        _ => calibration::calibration(req, deps, now).await,
    }
}

/// Every wait that started in `[from, to)`, measured under the current hours, and
/// how many had to be measured again.
pub(crate) async fn read_waits<S: Store>(
    deps: &Reports<S>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<Wait>, usize), ApiError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = deps
            .store
            .waits_page(from, to, after.as_deref(), READ_PAGE)
            .await?;
        all.extend(page.waits);
        if all.len() > MAX_WAITS {
            return Err(ApiError::new(
                422,
                "too_many_waits",
                format!("more than {MAX_WAITS} waits in the period: ask for a shorter one"),
            ));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let fingerprint = deps.hours.fingerprint();
    let recomputed = all
        .iter_mut()
        .map(|w| w.remeasure(&deps.hours, &fingerprint))
        .filter(|r| *r)
        .count();
    Ok((all, recomputed))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
