//! Time rules: business hours in an IANA time zone, off-hours periods and the reply-by
//! promise. Pure functions of (config, instant): nothing here reads the clock.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// A business-hours configuration that failed validation; `field` names the JSON path.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("BUSINESS_HOURS.{field}: {reason}")]
pub struct HoursError {
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> HoursError {
    HoursError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// One opening window in local wall-clock time. `end <= start` means the window runs
/// past midnight into the next day (an overnight shift); `end == 24:00` is midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: NaiveTime,
    /// Minutes after `start`'s midnight at which the window closes (may exceed 24 h).
    end_offset_minutes: u32,
}

impl Window {
    fn parse(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("window {s:?} must look like \"09:00-17:30\""))?;
        let start_min =
            parse_hhmm(a.trim()).ok_or_else(|| format!("bad start time {a:?} in {s:?}"))?;
        let end_min = parse_hhmm(b.trim()).ok_or_else(|| format!("bad end time {b:?} in {s:?}"))?;
        if start_min == 24 * 60 {
            return Err(format!("window {s:?} cannot start at 24:00"));
        }
        if start_min == end_min {
            return Err(format!("window {s:?} is empty"));
        }
        let end_offset = if end_min > start_min {
            end_min
        } else {
            end_min + 24 * 60
        };
        Ok(Window {
            start: NaiveTime::from_hms_opt(start_min / 60, start_min % 60, 0).expect("checked"),
            end_offset_minutes: end_offset,
        })
    }

    fn start_minutes(&self) -> u32 {
        use chrono::Timelike;
        self.start.hour() * 60 + self.start.minute()
    }
}

/// "HH:MM" with 00:00..=24:00, returned as minutes after midnight.
fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (m < 60 && total <= 24 * 60).then_some(total)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    timezone: String,
    weekly: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    first_response_minutes: u32,
    auto_reply: RawAutoReply,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAutoReply {
    default: String,
    reply_by_format: Option<String>,
}

/// The default rendering of `{reply_by}`: "Tue 25 Nov, 09:00 CET".
pub const DEFAULT_REPLY_BY_FORMAT: &str = "%a %-d %b, %H:%M %Z";

/// Validated business hours.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    pub timezone: Tz,
    /// Windows per weekday, Monday first, sorted by start.
    weekly: [Vec<Window>; 7],
    pub first_response: Duration,
    pub auto_reply_template: String,
    pub reply_by_format: String,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

impl BusinessHours {
    /// Parses and validates the `BUSINESS_HOURS` JSON.
    pub fn from_json(json: &str) -> Result<Self, HoursError> {
        let mut de = serde_json::Deserializer::from_str(json);
        let raw: RawHours = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.inner().to_string();
            // serde names an unknown or missing field in backticks; add it to the path.
            let named = (msg.starts_with("unknown field") || msg.starts_with("missing field"))
                .then(|| msg.split('`').nth(1))
                .flatten();
            let field = match (path.as_str(), named) {
                (".", Some(name)) => name.to_string(),
                (".", None) => "(root)".to_string(),
                (p, Some(name)) if !p.ends_with(name) => format!("{p}.{name}"),
                (p, _) => p.to_string(),
            };
            err(field, msg)
        })?;
        let timezone: Tz = raw.timezone.parse().map_err(|_| {
            err(
                "timezone",
                format!("{:?} is not an IANA time zone", raw.timezone),
            )
        })?;
        let mut weekly: [Vec<Window>; 7] = Default::default();
        for (day, windows) in &raw.weekly {
            let idx = DAYS
                .iter()
                .position(|(name, _)| name == day)
                .ok_or_else(|| {
                    err(
                        format!("weekly.{day}"),
                        "day must be one of mon, tue, wed, thu, fri, sat, sun",
                    )
                })?;
            let mut parsed = Vec::with_capacity(windows.len());
            for (i, w) in windows.iter().enumerate() {
                parsed.push(Window::parse(w).map_err(|r| err(format!("weekly.{day}[{i}]"), r))?);
            }
            parsed.sort_by_key(|w| w.start);
            for pair in parsed.windows(2) {
                if pair[1].start_minutes() < pair[0].end_offset_minutes {
                    return Err(err(format!("weekly.{day}"), "windows overlap"));
                }
            }
            weekly[idx] = parsed;
        }
        if weekly.iter().all(Vec::is_empty) {
            return Err(err("weekly", "at least one opening window is required"));
        }
        if raw.first_response_minutes > 7 * 24 * 60 {
            return Err(err(
                "first_response_minutes",
                "must be at most one week (10080)",
            ));
        }
        if raw.auto_reply.default.trim().is_empty() {
            return Err(err("auto_reply.default", "must not be empty"));
        }
        check_placeholders(&raw.auto_reply.default).map_err(|r| err("auto_reply.default", r))?;
        let reply_by_format = raw
            .auto_reply
            .reply_by_format
            .unwrap_or_else(|| DEFAULT_REPLY_BY_FORMAT.to_string());
        // Some specifiers parse but cannot format (e.g. `%#z`): render one instant,
        // because `render_reply_by` must never fail once the function runs.
        let renders = {
            use std::fmt::Write;
            let sample = Utc::now().with_timezone(&timezone);
            let mut out = String::new();
            !chrono::format::StrftimeItems::new(&reply_by_format)
                .any(|i| matches!(i, chrono::format::Item::Error))
                && write!(out, "{}", sample.format(&reply_by_format)).is_ok()
        };
        if !renders {
            return Err(err(
                "auto_reply.reply_by_format",
                format!("{reply_by_format:?} is not a valid strftime format"),
            ));
        }
        Ok(BusinessHours {
            timezone,
            weekly,
            first_response: Duration::minutes(raw.first_response_minutes.into()),
            auto_reply_template: raw.auto_reply.default,
            reply_by_format,
        })
    }

    fn windows(&self, day: Weekday) -> &[Window] {
        &self.weekly[day.num_days_from_monday() as usize]
    }

    /// The concrete (start, end) instants of every window that begins on local `date`.
    fn windows_on(
        &self,
        date: NaiveDate,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        self.windows(date.weekday())
            .iter()
            .map(move |w| {
                let start = date.and_time(w.start);
                let end =
                    date.and_time(NaiveTime::MIN) + Duration::minutes(w.end_offset_minutes.into());
                (self.resolve(start, false), self.resolve(end, true))
            })
            // A window that falls wholly into a DST gap does not happen that day.
            .filter(|(start, end)| start < end)
    }

    /// Local wall-clock time to an instant. In a DST gap the time does not exist and
    /// the first instant after the gap is used; in an overlap a start takes the earlier
    /// instant and an end the later one, so the window keeps its wall-clock length.
    fn resolve(&self, local: chrono::NaiveDateTime, is_end: bool) -> DateTime<Utc> {
        match self.timezone.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => if is_end { b } else { a }.with_timezone(&Utc),
            LocalResult::None => {
                // Walk forward minute by minute to the end of the gap (at most a few hours).
                let mut probe = local;
                loop {
                    probe += Duration::minutes(1);
                    if let Some(t) = self.timezone.from_local_datetime(&probe).earliest() {
                        return t.with_timezone(&Utc);
                    }
                }
            }
        }
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// Whether the business is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let today = self.local_date(at);
        // A window from yesterday may run past midnight into today.
        [today.pred_opt(), Some(today)]
            .into_iter()
            .flatten()
            .flat_map(|d| self.windows_on(d))
            .any(|(start, end)| start <= at && at < end)
    }

    /// The first opening strictly after `at` (the start of the next window).
    pub fn next_opening(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        // Windows that began before today cannot start after `at`. Validation puts a
        // window in every week; two weeks also cover one lost to a DST gap.
        let mut date = self.local_date(at);
        for _ in 0..15 {
            if let Some(start) = self
                .windows_on(date)
                .map(|(s, _)| s)
                .filter(|s| *s > at)
                .min()
            {
                return start;
            }
            date = date.succ_opt().expect("date in range");
        }
        at + Duration::days(7)
    }

    /// `None` while open; otherwise the off-hours period `at` falls in, identified by
    /// the opening that ends it. Two instants in the same closed stretch share a key.
    pub fn off_hours_period(&self, at: DateTime<Utc>) -> Option<OffHoursPeriod> {
        if self.is_open(at) {
            return None;
        }
        let opens_at = self.next_opening(at);
        Some(OffHoursPeriod {
            opens_at,
            reply_by: opens_at + self.first_response,
        })
    }

    /// Renders `reply_by` for a customer in the business's time zone.
    pub fn render_reply_by(&self, reply_by: DateTime<Utc>) -> String {
        reply_by
            .with_timezone(&self.timezone)
            .format(&self.reply_by_format)
            .to_string()
    }

    /// The auto-reply text for a message received in `period`.
    pub fn auto_reply_text(&self, period: &OffHoursPeriod) -> String {
        self.auto_reply_template
            .replace("{reply_by}", &self.render_reply_by(period.reply_by))
    }
}

fn check_placeholders(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').ok_or("unclosed '{' in template")? + open;
        let name = &rest[open + 1..close];
        if name != "reply_by" {
            return Err(format!(
                "unknown placeholder {{{name}}}; the only one is {{reply_by}}"
            ));
        }
        rest = &rest[close + 1..];
    }
    Ok(())
}

/// A closed stretch between two openings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffHoursPeriod {
    /// When the business opens again; also the period's identity.
    pub opens_at: DateTime<Utc>,
    /// When a human will have answered: `opens_at` plus the first-response time.
    pub reply_by: DateTime<Utc>,
}

impl OffHoursPeriod {
    /// A stable key for "one auto-reply per conversation per period".
    pub fn key(&self) -> String {
        self.opens_at.format("%Y-%m-%dT%H:%MZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(json: &str) -> BusinessHours {
        BusinessHours::from_json(json).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const BERLIN: &str = r#"{"timezone":"Europe/Berlin",
        "weekly":{"mon":["08:00-18:00"],"tue":["08:00-12:00","13:00-18:00"]},
        "first_response_minutes":60,
        "auto_reply":{"default":"Thanks. We'll reply by {reply_by}."}}"#;

    #[test]
    fn split_shift_lunch_break_is_closed() {
        let h = hours(BERLIN);
        // 2026-11-24 is a Tuesday; Berlin is UTC+1 in November.
        assert!(h.is_open(utc("2026-11-24T10:00:00Z"))); // 11:00 local
        assert!(!h.is_open(utc("2026-11-24T11:30:00Z"))); // 12:30 local, lunch
        assert_eq!(
            h.next_opening(utc("2026-11-24T11:30:00Z")),
            utc("2026-11-24T12:00:00Z")
        );
        assert!(h.is_open(utc("2026-11-24T12:00:00Z"))); // 13:00 local, start inclusive
        assert!(!h.is_open(utc("2026-11-24T17:00:00Z"))); // 18:00 local, end exclusive
    }

    #[test]
    fn closed_days_roll_to_next_week() {
        let h = hours(BERLIN);
        // Tuesday 20:00 local -> next Monday 08:00 local.
        let p = h.off_hours_period(utc("2026-11-24T19:00:00Z")).unwrap();
        assert_eq!(p.opens_at, utc("2026-11-30T07:00:00Z"));
        assert_eq!(p.reply_by, utc("2026-11-30T08:00:00Z"));
        assert_eq!(h.render_reply_by(p.reply_by), "Mon 30 Nov, 09:00 CET");
        assert_eq!(
            h.auto_reply_text(&p),
            "Thanks. We'll reply by Mon 30 Nov, 09:00 CET."
        );
        // Saturday is in the same period: same key.
        let sat = h.off_hours_period(utc("2026-11-28T12:00:00Z")).unwrap();
        assert_eq!(sat.key(), p.key());
        assert!(h.off_hours_period(utc("2026-11-30T07:00:00Z")).is_none());
    }

    #[test]
    fn overnight_shift_spans_midnight() {
        let h = hours(
            r#"{"timezone":"UTC","weekly":{"fri":["22:00-06:00"]},
            "auto_reply":{"default":"later"}}"#,
        );
        assert!(h.is_open(utc("2026-11-27T23:00:00Z"))); // Fri 23:00
        assert!(h.is_open(utc("2026-11-28T05:59:00Z"))); // Sat 05:59
        assert!(!h.is_open(utc("2026-11-28T06:00:00Z")));
        assert_eq!(
            h.next_opening(utc("2026-11-28T06:00:00Z")),
            utc("2026-12-04T22:00:00Z")
        );
    }

    #[test]
    fn dst_spring_forward_uses_local_wall_clock() {
        // Berlin switches to CEST on 2026-03-29 at 02:00 local.
        let h = hours(
            r#"{"timezone":"Europe/Berlin","weekly":{"sun":["02:30-04:00"],"mon":["09:00-17:00"]},
            "auto_reply":{"default":"later"}}"#,
        );
        // 02:30 does not exist that day; the window opens when the clock reaches 03:00 CEST.
        assert_eq!(
            h.next_opening(utc("2026-03-28T12:00:00Z")),
            utc("2026-03-29T01:00:00Z")
        );
        assert_eq!(
            h.next_opening(utc("2026-03-29T03:00:00Z")),
            utc("2026-03-30T07:00:00Z")
        );
    }

    #[test]
    fn dst_fall_back_keeps_wall_clock_windows() {
        // Berlin returns to CET on 2026-10-25: 02:00-03:00 local happens twice.
        let h = hours(
            r#"{"timezone":"Europe/Berlin","weekly":{"sun":["00:00-02:30"]},
            "auto_reply":{"default":"later"}}"#,
        );
        // 02:15 CET (the second 02:15) is still before the window's 02:30 wall-clock end.
        assert!(h.is_open(utc("2026-10-25T01:15:00Z")));
        assert!(!h.is_open(utc("2026-10-25T01:30:00Z")));
    }

    #[test]
    fn a_window_inside_a_dst_gap_is_skipped() {
        let h = hours(
            r#"{"timezone":"Europe/Berlin","weekly":{"sun":["02:15-02:45"],"mon":["09:00-10:00"]},
            "auto_reply":{"default":"later"}}"#,
        );
        assert_eq!(
            h.next_opening(utc("2026-03-28T12:00:00Z")),
            utc("2026-03-30T07:00:00Z")
        );
    }

    #[test]
    fn invalid_config_names_the_field() {
        let cases = [
            (
                r#"{"timezone":"Mars/Olympus","weekly":{"mon":["08:00-18:00"]},"auto_reply":{"default":"x"}}"#,
                "timezone",
            ),
            (
                r#"{"timezone":"UTC","weekly":{"monday":["08:00-18:00"]},"auto_reply":{"default":"x"}}"#,
                "weekly.monday",
            ),
            (
                r#"{"timezone":"UTC","weekly":{"tue":["08:00-12:00","8-9"]},"auto_reply":{"default":"x"}}"#,
                "weekly.tue[1]",
            ),
            (
                r#"{"timezone":"UTC","weekly":{"tue":["08:00-12:00","11:00-13:00"]},"auto_reply":{"default":"x"}}"#,
                "weekly.tue",
            ),
            (
                r#"{"timezone":"UTC","weekly":{},"auto_reply":{"default":"x"}}"#,
                "weekly",
            ),
            (
                r#"{"timezone":"UTC","weekly":{"mon":["08:00-18:00"]},"auto_reply":{"default":"by {when}"}}"#,
                "auto_reply.default",
            ),
            (
                r#"{"timezone":"UTC","weekly":{"mon":["08:00-18:00"]}}"#,
                "auto_reply",
            ),
            (
                r#"{"timezone":"UTC","wekly":{"mon":["08:00-18:00"]},"auto_reply":{"default":"x"}}"#,
                "wekly",
            ),
            (
                // Parses as a specifier, but chrono cannot format it.
                r#"{"timezone":"UTC","weekly":{"mon":["08:00-18:00"]},"auto_reply":{"default":"x","reply_by_format":"%H:%M %#z"}}"#,
                "auto_reply.reply_by_format",
            ),
        ];
        for (json, field) in cases {
            let e = BusinessHours::from_json(json).unwrap_err();
            assert_eq!(e.field, field, "{json}: {e}");
        }
    }
}
