//! The period (`from`, `to`) and the filters every report route reads.
//!
//! `from` and `to` are RFC 3339 instants or business-local dates (`2026-11-30`: from
//! its start; as `to`, through its end). Default: the 28 days up to now. At most
//! 366 days.

use asyncdesk::conversation::Channel;
use asyncdesk::hours::BusinessHours;
use asyncdesk::http::{ApiError, query_param};
use asyncdesk::reports::summary::{GroupBy, group_of, verdict};
use asyncdesk::reports::{Kind, Outcome, Wait};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use lambda_http::Request;

pub const DEFAULT_DAYS: i64 = 28;
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

fn instant(
    raw: &str,
    name: &str,
    hours: &BusinessHours,
    end_of_day: bool,
) -> Result<DateTime<Utc>, ApiError> {
    let raw = raw.trim();
    // A '+' in a query string decodes as a space when it was not percent-encoded.
    if let Ok(t) = DateTime::parse_from_rfc3339(&raw.replace(' ', "+")) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        ApiError::bad_request(format!(
            "{name} {raw:?} is not a date like 2026-11-30 or an RFC 3339 instant"
        ))
    })?;
    let date = if end_of_day {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    // The first instant of that local date (a midnight a DST change skips: later).
    (0..4)
        .find_map(|h| {
            hours
                .timezone
                .from_local_datetime(&(date.and_hms_opt(0, 0, 0)? + Duration::hours(h)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::bad_request(format!("{name} {raw:?} is out of range")))
}

pub fn period(
    req: &Request,
    hours: &BusinessHours,
    now: DateTime<Utc>,
) -> Result<Period, ApiError> {
    let q = |k: &str| query_param(req.uri(), k);
    let to = match q("to") {
        Some(raw) => instant(&raw, "to", hours, true)?,
        None => now,
    };
    let from = match q("from") {
        Some(raw) => instant(&raw, "from", hours, false)?,
        None => to - Duration::days(DEFAULT_DAYS),
    };
    if from >= to {
        return Err(ApiError::bad_request("from must be before to"));
    }
    if to - from > Duration::days(MAX_DAYS) {
        return Err(ApiError::bad_request(format!(
            "the period is at most {MAX_DAYS} days"
        )));
    }
    Ok(Period { from, to })
}

/// Which waits a figure counts: what `GET /reports/waits` lists behind it.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub channel: Option<Channel>,
    pub agent: Option<String>,
    pub kind: Option<Kind>,
    /// `answered`, `resolved`, `snoozed`, `unanswered` (resolved or snoozed) or
    /// `waiting`.
    pub outcome: Option<String>,
    /// The promise's verdict now: kept, or broken (answered late, or still waiting
    /// past it).
    pub kept: Option<bool>,
    /// One group of a summary.
    pub group: Option<(GroupBy, String)>,
}

impl Filter {
    pub fn parse(req: &Request) -> Result<Filter, ApiError> {
        let q = |k: &str| query_param(req.uri(), k);
        let channel = match q("channel") {
            None => None,
            Some(c) => Some(Channel::parse(&c).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "channel {c:?} is not whatsapp, telegram, email or web"
                ))
            })?),
        };
        let kind = match q("kind") {
            None => None,
            Some(k) => Some(Kind::parse(&k).ok_or_else(|| {
                ApiError::bad_request(format!("kind {k:?} is not first or next"))
            })?),
        };
        let outcome = match q("outcome") {
            None => None,
            Some(o)
                if matches!(
                    o.as_str(),
                    "answered" | "resolved" | "snoozed" | "unanswered" | "waiting"
                ) =>
            {
                Some(o)
            }
            Some(o) => {
                return Err(ApiError::bad_request(format!(
                    "outcome {o:?} is not answered, resolved, snoozed, unanswered or waiting"
                )));
            }
        };
        let kept = match q("kept").as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(k) => {
                return Err(ApiError::bad_request(format!(
                    "kept {k:?} is not true or false"
                )));
            }
        };
        let group = match (q("group_by"), q("group")) {
            (Some(by), Some(key)) => Some((parse_group_by(&by)?, key)),
            (None, Some(_)) => {
                return Err(ApiError::bad_request("group needs group_by"));
            }
            // A summary's grouping: checked here, applied by the summary.
            (Some(by), None) => {
                parse_group_by(&by)?;
                None
            }
            (None, None) => None,
        };
        Ok(Filter {
            channel,
            agent: q("agent").filter(|a| !a.is_empty()),
            kind,
            outcome,
            kept,
            group,
        })
    }

    /// The filters as query parameters (`&channel=...`), for the links to the
    /// waits behind a figure.
    pub fn query(&self) -> String {
        let enc = crate::summary::encode;
        let mut q = String::new();
        let mut add = |k: &str, v: &str| q.push_str(&format!("&{k}={}", enc(v)));
        if let Some(c) = self.channel {
            add("channel", c.as_str());
        }
        if let Some(a) = &self.agent {
            add("agent", a);
        }
        if let Some(k) = self.kind {
            add("kind", k.as_str());
        }
        if let Some(o) = &self.outcome {
            add("outcome", o);
        }
        if let Some(k) = self.kept {
            add("kept", if k { "true" } else { "false" });
        }
        q
    }

    pub fn keeps(&self, w: &Wait, hours: &BusinessHours, now: DateTime<Utc>) -> bool {
        self.channel.is_none_or(|c| w.channel == c)
            && self
                .agent
                .as_ref()
                .is_none_or(|a| w.agent.as_deref() == Some(a))
            && self.kind.is_none_or(|k| w.kind == k)
            && self.outcome.as_deref().is_none_or(|o| match o {
                "waiting" => w.outcome.is_none(),
                "unanswered" => matches!(w.outcome, Some(Outcome::Resolved | Outcome::Snoozed)),
                o => w.outcome.map(Outcome::as_str) == Some(o),
            })
            && self.kept.is_none_or(|k| verdict(w, now) == Some(k))
            && self
                .group
                .as_ref()
                .is_none_or(|(by, key)| group_of(w, *by, hours.timezone).0 == *key)
    }
}

pub fn parse_group_by(by: &str) -> Result<GroupBy, ApiError> {
    GroupBy::parse(by).ok_or_else(|| {
        ApiError::bad_request(format!(
            "group_by {by:?} is not day, week, channel, agent or hour_of_week"
        ))
    })
}
