//! `GET /widget/config?zone=<IANA zone>`: what the widget says before the visitor
//! writes. Open: live, and how soon a person typically answers. Closed: when a
//! person will answer, from the same schedule and rendering as the auto-reply's
//! `{reply_by_local}` and `/availability`'s `reply_by`, in the visitor's own zone.

use crate::{Store, Widget};
use asyncdesk::channels::web::{WhenClosed, WidgetSettings};
use asyncdesk::hours::{BusinessHours, CustomerZone};
use asyncdesk::http::{json, query_param};
use chrono::{DateTime, SecondsFormat, Utc};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

/// How often the widget polls while a chat is open (ms): a reply shows within
/// about this plus one round trip.
pub const POLL_MS: u32 = 1000;

#[derive(Debug, Serialize, PartialEq)]
pub struct Status {
    pub business_name: String,
    pub launcher_text: String,
    pub open: bool,
    pub when_closed: &'static str,
    /// Open: when this stretch ends; closed: when the next one starts.
    pub closes_at: Option<String>,
    pub next_open: Option<String>,
    /// When a person will answer a message written now (RFC 3339, UTC).
    pub reply_by: Option<String>,
    /// `reply_by` as the auto-reply's `{reply_by_local}` renders it for this zone.
    pub reply_by_text: Option<String>,
    /// Closed: the sentence the widget shows.
    pub notice: Option<String>,
    /// Open: how soon a person answers (`WIDGET_TYPICAL_REPLY`, else the target).
    pub typical_reply: Option<String>,
    pub poll_ms: u32,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// First answers needed before the widget says "typically".
pub const MIN_SAMPLES: usize = 10;
/// How far back first answers are measured.
pub const SAMPLE_DAYS: i64 = 14;
/// Most waits read.
pub const MAX_SAMPLES: usize = 1000;
/// How long an instance keeps the measured figure.
pub const MEASURE_EVERY_SECS: i64 = 300;

/// The median first answer of `samples` (waited from, answered at) in business
/// minutes, rounded up; `None` with fewer than [`MIN_SAMPLES`].
pub fn typical_minutes(
    hours: &BusinessHours,
    samples: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Option<i64> {
    if samples.len() < MIN_SAMPLES {
        return None;
    }
    let mut secs: Vec<i64> = samples
        .iter()
        .map(|(from, to)| hours.open_time_between(*from, *to).num_seconds())
        .collect();
    secs.sort_unstable();
    let median = secs[secs.len() / 2];
    Some(((median + 59) / 60).max(1))
}

/// The (started, answered) times of the waits an agent answered: the first human
/// answer to each wait, on any channel (the reports' waits, docs/reports.md).
pub fn answered(waits: &[asyncdesk::reports::Wait]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    waits
        .iter()
        .filter(|w| w.outcome == Some(asyncdesk::reports::Outcome::Answered))
        .filter_map(|w| Some((w.started_at, w.ended_at?)))
        .collect()
}

/// "Typically replies in ~N min" (hours from two hours on).
pub fn typical_text(minutes: i64) -> String {
    if minutes < 120 {
        format!("Typically replies in ~{minutes} min")
    } else {
        format!("Typically replies in ~{} h", (minutes + 30) / 60)
    }
}

/// What the widget shows at `now` to a visitor in `zone`, with the measured
/// typical first answer (business minutes) if there is one (pure: table-tested).
pub fn status(
    hours: &BusinessHours,
    settings: &WidgetSettings,
    zone: Option<&str>,
    measured: Option<i64>,
    now: DateTime<Utc>,
) -> Status {
    let a = hours.availability(now);
    let zone = zone.and_then(CustomerZone::parse);
    let reply_by_text = a.reply_by.map(|t| hours.render_local(t, zone));
    let notice = (!a.open).then(|| match &reply_by_text {
        Some(t) => format!("We're away. A person will answer by {t}."),
        None => "We're away. A person will answer when we're back.".to_string(),
    });
    let typical_reply = a.open.then(|| {
        measured
            .map(typical_text)
            .or_else(|| settings.typical_reply.clone())
            .unwrap_or_else(|| {
                format!(
                    "We aim to answer within {} min",
                    hours.first_response_minutes
                )
            })
    });
    Status {
        business_name: settings.business_name.clone(),
        launcher_text: settings.launcher_text.clone(),
        open: a.open,
        when_closed: settings.when_closed.as_str(),
        closes_at: a.closes_at.map(rfc3339),
        next_open: a.next_open.map(rfc3339),
        reply_by: a.reply_by.map(rfc3339),
        reply_by_text,
        notice,
        typical_reply,
        poll_ms: POLL_MS,
    }
}

pub async fn config<S: Store>(
    req: &Request,
    deps: &Widget<S>,
    now: DateTime<Utc>,
) -> Response<Body> {
    let zone = query_param(req.uri(), "zone").filter(|z| z.len() <= 64);
    let measured = measured(deps, now).await;
    let s = status(&deps.hours, &deps.settings, zone.as_deref(), measured, now);
    let mut resp = json(200, &s);
    // Changes at the top of a minute at the earliest (openings are minute-aligned).
    resp.headers_mut().insert(
        "cache-control",
        lambda_http::http::HeaderValue::from_static("public, max-age=30"),
    );
    resp
}

/// The typical first answer, measured at most every [`MEASURE_EVERY_SECS`] per
/// instance (one query of the samples); `None` on too few samples or a failed read.
async fn measured<S: Store>(deps: &Widget<S>, now: DateTime<Utc>) -> Option<i64> {
    if let Some((at, minutes)) = *deps.typical.lock().expect("not poisoned")
        && (now - at).num_seconds() < MEASURE_EVERY_SECS
    {
        return minutes;
    }
    let since = now - chrono::Duration::days(SAMPLE_DAYS);
    let minutes = match deps.store.recent_waits(since, now, MAX_SAMPLES).await {
        Ok(waits) => typical_minutes(&deps.hours, &answered(&waits)),
        Err(e) => {
            tracing::warn!(error = %e, "first answers not read");
            None
        }
    };
    *deps.typical.lock().expect("not poisoned") = Some((now, minutes));
    minutes
}

/// Whether a visitor must leave an address before writing now.
pub fn contact_required(
    hours: &BusinessHours,
    settings: &WidgetSettings,
    now: DateTime<Utc>,
) -> bool {
    settings.when_closed == WhenClosed::RequireContact && !hours.is_open(now)
}

#[cfg(test)]
mod tests {
    //! The widget's promise, the auto-reply's `{reply_by_local}` and `/availability`'s
    //! `reply_by` for the same instant: one engine, the same words.
    use super::*;
    use asyncdesk::hours::Recipient;

    fn settings() -> WidgetSettings {
        let vars = [
            ("WIDGET_ORIGINS", "https://shop.example"),
            ("WIDGET_SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
        ];
        WidgetSettings::load(&|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn closed_the_widget_promises_what_the_auto_reply_and_availability_promise() {
        let berlin = r#"{"timezone":"Europe/Berlin",
            "weekly":{"mon":["09:00-17:00"],"tue":["09:00-17:00"],"wed":["09:00-17:00"],
                      "thu":["09:00-17:00"],"fri":["22:00-06:00"],"sun":["01:30-03:30"]},
            "holidays":["2026-12-24",{"date":"2026-12-28","hours":["12:00-14:00"]}],
            "first_response_minutes":60,
            "auto_reply":{"default":"Away. A person will answer by {reply_by_local}."}}"#;
        // (case, instant, visitor zone, the widget's promise)
        let cases = [
            // Closed for a holiday (Thu 24 Dec): the next opening is Fri's night shift.
            (
                "holiday",
                "2026-12-24T10:00:00+01:00",
                Some("Europe/Berlin"),
                "Fri 25 Dec, 23:00 your time",
            ),
            // Special hours on Mon 28 Dec (12:00-14:00 instead of 09:00-17:00).
            (
                "special hours",
                "2026-12-28T09:30:00+01:00",
                Some("Europe/Berlin"),
                "Mon 28 Dec, 13:00 your time",
            ),
            // The overnight shift Fri 22:00 - Sat 06:00, from Fri afternoon.
            (
                "overnight",
                "2026-12-04T18:00:00+01:00",
                Some("Europe/Berlin"),
                "Fri 4 Dec, 23:00 your time",
            ),
            // Sun 01:30-03:30 on the spring-forward night (02:00-03:00 does not exist):
            // 60 open minutes from 01:30 end at 03:30 local.
            (
                "DST gap",
                "2026-03-29T00:30:00+01:00",
                Some("Europe/Berlin"),
                "Sun 29 Mar, 03:30 your time",
            ),
            // The fall-back night (02:00-03:00 twice): 01:30 + 60 open minutes.
            (
                "DST overlap",
                "2026-10-25T00:30:00+02:00",
                Some("Europe/Berlin"),
                "Sun 25 Oct, 02:30 your time",
            ),
            // A visitor in New York, a week before the US changes its clocks.
            (
                "visitor zone",
                "2026-12-24T10:00:00+01:00",
                Some("America/New_York"),
                "Fri 25 Dec, 17:00 your time",
            ),
            // No zone from the browser: the business's time, with its zone's name.
            (
                "no zone",
                "2026-12-24T10:00:00+01:00",
                None,
                "Fri 25 Dec, 23:00 CET",
            ),
        ];
        for (case, at, zone, want) in cases {
            let now = t(at);
            let hours = BusinessHours::from_json(berlin, now).unwrap();
            let s = status(&hours, &settings(), zone, None, now);
            assert!(!s.open, "{case}");
            assert_eq!(s.reply_by_text.as_deref(), Some(want), "{case}");
            assert_eq!(
                s.notice.as_deref(),
                Some(format!("We're away. A person will answer by {want}.").as_str()),
                "{case}"
            );
            // The auto-reply to a message written now, to this visitor.
            let period = hours.off_hours_period(now).expect(case);
            let auto = hours.auto_reply_text(
                &period,
                &Recipient {
                    channel: Some(asyncdesk::conversation::Channel::Web),
                    zone: zone.and_then(CustomerZone::parse),
                    ..Recipient::default()
                },
            );
            assert_eq!(
                auto,
                format!("Away. A person will answer by {want}."),
                "{case}"
            );
            // /availability's reply_by is the same instant.
            assert_eq!(
                s.reply_by.as_deref().map(t),
                hours.availability(now).reply_by,
                "{case}"
            );
            assert_eq!(
                s.reply_by.as_deref().map(t),
                Some(period.reply_by),
                "{case}"
            );
        }
    }

    #[test]
    fn open_the_widget_is_live_and_says_how_soon() {
        let hours = BusinessHours::from_json(
            r#"{"timezone":"UTC","weekly":{"thu":["09:00-17:00"]},"first_response_minutes":30,
                "auto_reply":{"default":"x"}}"#,
            t("2026-12-03T10:00:00Z"),
        )
        .unwrap();
        let s = status(
            &hours,
            &settings(),
            Some("Asia/Tokyo"),
            None,
            t("2026-12-03T10:00:00Z"),
        );
        assert!(s.open);
        assert_eq!(s.notice, None);
        assert_eq!(
            s.typical_reply.as_deref(),
            Some("We aim to answer within 30 min")
        );
        assert_eq!(s.closes_at.as_deref(), Some("2026-12-03T17:00:00Z"));
        assert_eq!(
            s.reply_by_text.as_deref(),
            Some("Thu 3 Dec, 19:30 your time")
        );
    }

    #[test]
    fn typically_is_the_median_first_answer_in_business_minutes() {
        let hours = BusinessHours::from_json(
            r#"{"timezone":"UTC","weekly":{"mon":["09:00-17:00"],"fri":["09:00-17:00"]},
                "auto_reply":{"default":"x"}}"#,
            t("2026-12-03T10:00:00Z"),
        )
        .unwrap();
        // Fri 4 Dec 16:50 to Mon 7 Dec 09:20: 30 business minutes over a weekend.
        let weekend = (t("2026-12-04T16:50:00Z"), t("2026-12-07T09:20:00Z"));
        let quick = (t("2026-12-07T10:00:00Z"), t("2026-12-07T10:04:10Z"));
        let mut samples = vec![weekend; 5];
        samples.extend(vec![quick; 5]);
        // The upper median of 5 x 4 min 10 s and 5 x 30 min.
        assert_eq!(typical_minutes(&hours, &samples), Some(30));
        samples.push(quick);
        assert_eq!(typical_minutes(&hours, &samples), Some(5));
        assert_eq!(typical_minutes(&hours, &samples[..9]), None, "too few");
        assert_eq!(typical_text(5), "Typically replies in ~5 min");
        assert_eq!(typical_text(150), "Typically replies in ~3 h");
        // Measured, it is said; else the configured text; else the target.
        let s = status(
            &hours,
            &settings(),
            None,
            Some(5),
            t("2026-12-07T10:00:00Z"),
        );
        assert_eq!(
            s.typical_reply.as_deref(),
            Some("Typically replies in ~5 min")
        );
    }
}
