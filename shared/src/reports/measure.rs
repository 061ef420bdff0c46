//! A wait measured: its promise (the auto-reply's, else the business-minute
//! deadline), how long it lasted in business time and in wall time, and whether the
//! promise was kept. A pure function of the raw times and the business hours, so a
//! wait measured under other hours is measured again from the same times.

use super::Outcome;
use crate::hours::BusinessHours;
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

/// What the wait is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromiseKind {
    /// The auto-reply told the customer this reply-by.
    Told,
    /// The business-minute deadline (`first_response_minutes` of open time from the
    /// wait's start), which the desk shows as the reply-due.
    Target,
}

impl PromiseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PromiseKind::Told => "told",
            PromiseKind::Target => "target",
        }
    }
}

/// The figures of one wait under one set of business hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measured {
    /// `None` only beyond the schedule's horizon (no opening within a year).
    pub promise_at: Option<DateTime<Utc>>,
    pub promise_kind: PromiseKind,
    /// Open time from start to end; `None` while the wait runs.
    #[serde(rename = "business_minutes", serialize_with = "minutes")]
    pub business_seconds: Option<i64>,
    #[serde(rename = "wall_minutes", serialize_with = "minutes")]
    pub wall_seconds: Option<i64>,
    /// Whether the answer came by the promise: `None` for a wait not answered.
    pub kept: Option<bool>,
    /// The fingerprint of the hours these figures were measured under.
    pub hours: String,
}

fn minutes<S: Serializer>(seconds: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match seconds {
        // Two decimals: whole seconds survive the round trip to within a second.
        Some(v) => s.serialize_f64((*v as f64 / 60.0 * 100.0).round() / 100.0),
        None => s.serialize_none(),
    }
}

/// Measures a wait that started at `started` and (when `end` is given) ended then,
/// with `outcome`; `told` is the auto-reply's reply-by.
pub fn measure(
    hours: &BusinessHours,
    started: DateTime<Utc>,
    end: Option<(DateTime<Utc>, Outcome)>,
    told: Option<DateTime<Utc>>,
) -> Measured {
    measure_as(hours, &hours.fingerprint(), started, end, told)
}

/// `measure`, with the hours' fingerprint computed once by the caller (a report
/// measures thousands of waits under the same hours).
pub fn measure_as(
    hours: &BusinessHours,
    fingerprint: &str,
    started: DateTime<Utc>,
    end: Option<(DateTime<Utc>, Outcome)>,
    told: Option<DateTime<Utc>>,
) -> Measured {
    let (promise_at, promise_kind) = match told {
        Some(t) => (Some(t), PromiseKind::Told),
        None => (hours.reply_by(started), PromiseKind::Target),
    };
    let ended = end.map(|(at, _)| at.max(started));
    Measured {
        promise_at,
        promise_kind,
        business_seconds: ended.map(|e| hours.open_time_between(started, e).num_seconds()),
        wall_seconds: ended.map(|e| (e - started).num_seconds()),
        kept: match end {
            Some((at, Outcome::Answered)) => Some(promise_at.is_none_or(|p| at <= p)),
            _ => None,
        },
        hours: fingerprint.to_string(),
    }
}

/// The smallest whole `first_response_minutes` whose deadline from `started` is not
/// before `answered` (0 for an answer at the start; `None` beyond a week of open
/// time; a deadline past the schedule's horizon counts as after the answer).
///
/// With x the open time from start to answer: fewer than x minutes end before the
/// answer, more than x after it, so the answer is ceil(x), or x + 1 when x is whole
/// and its deadline (the end of a stretch) comes before an answer given while
/// closed. One count of open time and at most one deadline.
pub fn minutes_needed(
    hours: &BusinessHours,
    started: DateTime<Utc>,
    answered: DateTime<Utc>,
) -> Option<u32> {
    const MAX: i64 = 7 * 24 * 60;
    let open = hours.open_time_between(started, answered).num_seconds();
    let mut minutes = (open + 59) / 60;
    if open % 60 == 0
        && minutes <= MAX
        && hours
            .deadline_after(started, minutes as u32)
            .is_some_and(|d| d < answered)
    {
        minutes += 1;
    }
    u32::try_from(minutes).ok().filter(|m| i64::from(*m) <= MAX)
}
