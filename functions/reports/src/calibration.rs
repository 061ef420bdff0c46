//! `GET /reports/calibration?weeks=N` (1 to 52, default 4): for the answered waits
//! that started in the last N weeks, per channel and for all, the smallest
//! `first_response_minutes` that would have kept at least 95% of promises, against
//! the configured one, with the kept rate each gives (docs/reports.md, "Calibration").

use crate::{Reports, Store, read_waits, rfc3339};
use asyncdesk::http::{ApiError, count_param, json};
use asyncdesk::reports::calibration::{MIN_SAMPLES, TARGET, calibrate};
use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::json as j;

pub const DEFAULT_WEEKS: u64 = 4;
pub const MAX_WEEKS: u64 = 52;

pub async fn calibration<S: Store>(
    req: &Request,
    deps: &Reports<S>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let weeks = count_param(req.uri(), "weeks", DEFAULT_WEEKS, MAX_WEEKS)? as i64;
    let from = now - Duration::weeks(weeks);
    let (waits, recomputed) = read_waits(deps, from, now).await?;
    Ok(json(
        200,
        &j!({
            "from": rfc3339(from),
            "to": rfc3339(now),
            "weeks": weeks,
            "target_kept_rate": TARGET,
            "min_samples": MIN_SAMPLES,
            "hours": deps.hours.fingerprint(),
            "recomputed": recomputed,
            "channels": calibrate(&waits, &deps.hours),
        }),
    ))
}
