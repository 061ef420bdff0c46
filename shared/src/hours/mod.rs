//! Time rules: business hours in an IANA time zone (weekly windows, holidays and
//! special hours), open stretches, the reply-by promise in business minutes, and the
//! auto-reply text in the business's and the customer's own time. Pure functions of
//! (config, instant): nothing here reads the clock.
//!
//! The rules (docs/configuration.md, "Business hours", states them the same way):
//! - The windows of local date D are its special hours if it has some, else none if D
//!   is a closed holiday, else the weekly windows of D's weekday.
//! - A window "s-e" on D opens at local D s and closes at local D e, or at local D+1 e
//!   when e is not after s (overnight; it belongs to the day it starts). "24:00" is
//!   D+1 00:00.
//! - On a date listed in `holidays` (closed or special), open time within that local
//!   date is only that date's own windows: the tail of the previous day's overnight
//!   window is cut at 00:00.
//! - Local times in a DST gap move to the first instant after the gap; a window start
//!   in a repeated hour takes the earlier instant, a window end the later one; a window
//!   wholly inside a gap is empty.
//! - Back-to-back or overlapping windows (also across midnight) form one open stretch.

mod config;
pub mod phone_zones;
mod render;
mod schedule;

pub use config::HoursError;
pub use render::{CustomerZone, Recipient};
pub use schedule::{Availability, Moment, OffHoursPeriod};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// How far ahead openings are searched (days).
pub const HORIZON_DAYS: i64 = 366;

/// The default rendering of `{reply_by}` and `{next_open}`: "Tue 25 Nov, 09:00 CET".
pub const DEFAULT_REPLY_BY_FORMAT: &str = "%a %-d %b, %H:%M %Z";
/// The default rendering of `{reply_by_local}`: "Tue 1 Dec, 17:00 your time".
pub const DEFAULT_LOCAL_FORMAT: &str = "%a %-d %b, %H:%M your time";
/// What `{customer_name}` says when the channel gave no name.
pub const DEFAULT_UNKNOWN_NAME: &str = "there";

/// One opening window of a day, in local wall-clock minutes after that day's
/// midnight: `end > 1440` runs into the next day (overnight), `end == 1440` is 24:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    start: u32,
    end: u32,
}

impl Window {
    fn parse(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("window {s:?} must look like \"09:00-17:30\""))?;
        let start = parse_hhmm(a.trim()).ok_or_else(|| format!("bad start time {a:?} in {s:?}"))?;
        let end = parse_hhmm(b.trim()).ok_or_else(|| format!("bad end time {b:?} in {s:?}"))?;
        if start == 24 * 60 {
            return Err(format!("window {s:?} cannot start at 24:00"));
        }
        if start == end {
            return Err(format!("window {s:?} is empty"));
        }
        Ok(Window {
            start,
            end: if end > start { end } else { end + 24 * 60 },
        })
    }

    fn local(&self, date: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
        let midnight = date.and_time(NaiveTime::MIN);
        (
            midnight + Duration::minutes(self.start.into()),
            midnight + Duration::minutes(self.end.into()),
        )
    }
}

/// "HH:MM" with 00:00..=24:00, as minutes after midnight.
fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (m < 60 && total <= 24 * 60).then_some(total)
}

/// Auto-reply templates: a default, per language, and per channel (each with its own
/// default and languages).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Templates {
    pub default: String,
    /// Lower-case language tags (`de`, `pt-br`).
    pub languages: BTreeMap<String, String>,
    /// Per channel name (`whatsapp`, `telegram`, `email`).
    pub channels: BTreeMap<String, ChannelTemplates>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChannelTemplates {
    pub default: Option<String>,
    pub languages: BTreeMap<String, String>,
}

/// Validated business hours.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    pub timezone: Tz,
    /// Windows per weekday, Monday first, sorted by start.
    weekly: [Vec<Window>; 7],
    /// Dates listed in `holidays`: their own windows (empty: closed).
    listed: BTreeMap<NaiveDate, Vec<Window>>,
    /// Minutes of open time a first answer may take.
    pub first_response_minutes: u32,
    pub templates: Templates,
    pub reply_by_format: String,
    pub local_format: String,
    pub unknown_name: String,
}

impl BusinessHours {
    /// The windows of local date `date` (first rule above).
    fn windows_of(&self, date: NaiveDate) -> &[Window] {
        use chrono::Datelike;
        match self.listed.get(&date) {
            Some(own) => own,
            None => &self.weekly[date.weekday().num_days_from_monday() as usize],
        }
    }

    /// Whether `date` is listed in `holidays` (closed or with special hours).
    fn is_listed(&self, date: NaiveDate) -> bool {
        self.listed.contains_key(&date)
    }
}

#[cfg(test)]
pub(crate) mod props;
#[cfg(test)]
mod tests;
