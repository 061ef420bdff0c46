//! Property tests: random schedules with holidays and special hours in zones with odd
//! DST rules, checked against a brute-force, minute-by-minute reading of the rules
//! (the module documentation's list), evaluated straight from the generated spec.

use super::BusinessHours;
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;
use proptest::prelude::*;
use std::collections::BTreeMap;

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe", // 30-minute DST
    "Pacific/Apia",        // skipped 30 Dec 2011; DST until 2021
    "America/St_Johns",    // -03:30 with DST
    "Asia/Kathmandu",      // +05:45
    "America/Havana",      // DST at midnight
    "America/Santiago",    // DST at midnight, southern hemisphere
    "Pacific/Chatham",     // +12:45 / +13:45
    "Asia/Tehran",
    "UTC",
];

/// A schedule as written in BUSINESS_HOURS, in minutes.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    zone: &'static str,
    /// Per weekday (Monday first): (start, end) minutes, end <= start = overnight.
    weekly: [Vec<(u32, u32)>; 7],
    /// Listed dates: None closed, Some(windows) special hours.
    holidays: BTreeMap<NaiveDate, Option<Vec<(u32, u32)>>>,
    pub(crate) first_response: u32,
}

fn hhmm(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

impl Spec {
    pub(crate) fn json(&self) -> String {
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let windows = |ws: &[(u32, u32)]| -> Vec<String> {
            ws.iter()
                .map(|(s, e)| format!("{}-{}", hhmm(*s), hhmm(*e)))
                .collect()
        };
        let weekly: serde_json::Map<String, serde_json::Value> = self
            .weekly
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.is_empty())
            .map(|(i, w)| (days[i].to_string(), serde_json::json!(windows(w))))
            .collect();
        let holidays: Vec<serde_json::Value> = self
            .holidays
            .iter()
            .map(|(d, w)| match w {
                None => serde_json::json!(d.to_string()),
                Some(w) => serde_json::json!({"date": d.to_string(), "hours": windows(w)}),
            })
            .collect();
        serde_json::json!({"timezone": self.zone, "weekly": weekly, "holidays": holidays,
            "first_response_minutes": self.first_response, "auto_reply": {"default": "x"}})
        .to_string()
    }

    fn tz(&self) -> Tz {
        self.zone.parse().unwrap()
    }

    /// The windows of `date` as (start, end) minutes after its midnight, end > start.
    fn windows(&self, date: NaiveDate) -> Vec<(u32, u32)> {
        let raw = match self.holidays.get(&date) {
            Some(None) => return Vec::new(),
            Some(Some(w)) => w.clone(),
            None => self.weekly[date.weekday().num_days_from_monday() as usize].clone(),
        };
        raw.into_iter()
            .map(|(s, e)| (s, if e > s { e } else { e + 1440 }))
            .collect()
    }

    fn resolve(&self, local: NaiveDateTime, is_end: bool) -> DateTime<Utc> {
        match self.tz().from_local_datetime(&local) {
            LocalResult::Single(t) => t.to_utc(),
            LocalResult::Ambiguous(a, b) => if is_end { b } else { a }.to_utc(),
            LocalResult::None => {
                let mut probe = local;
                loop {
                    probe += Duration::minutes(1);
                    if let Some(t) = self.tz().from_local_datetime(&probe).earliest() {
                        return t.to_utc();
                    }
                }
            }
        }
    }

    /// The rules, read literally, for one instant.
    pub(crate) fn open(&self, t: DateTime<Utc>) -> bool {
        let d = t.with_timezone(&self.tz()).date_naive();
        for day in [d.pred_opt().unwrap(), d] {
            let midnight = day.and_time(NaiveTime::MIN);
            let next = day.succ_opt().unwrap();
            for (s, e) in self.windows(day) {
                let mut end = midnight + Duration::minutes(e.into());
                if e > 1440 && self.holidays.contains_key(&next) {
                    end = next.and_time(NaiveTime::MIN);
                }
                let start = self.resolve(midnight + Duration::minutes(s.into()), false);
                let end = self.resolve(end, true);
                if start <= t && t < end {
                    return true;
                }
            }
        }
        false
    }
}

/// Up to two windows of one date that do not overlap (an overnight one last).
fn day_windows() -> impl Strategy<Value = Vec<(u32, u32)>> {
    // Half of the boundaries fall where clocks change (around 00:00-03:30).
    let boundary = prop_oneof![
        0u32..1440,
        prop::sample::select(vec![0u32, 30, 60, 90, 120, 150, 180, 210, 1410])
    ];
    let length = prop_oneof![
        1u32..1440,
        prop::sample::select(vec![30u32, 60, 90, 120, 1380, 1410])
    ];
    prop::collection::vec((boundary, length), 0..=2).prop_map(|ws| {
        let mut out: Vec<(u32, u32)> = Vec::new();
        let mut ws: Vec<(u32, u32)> = ws.into_iter().map(|(s, len)| (s, s + len)).collect();
        ws.sort();
        for (s, e) in ws {
            if out.last().is_none_or(|(_, pe)| s >= *pe) {
                out.push((s, e));
            }
        }
        // Back to "HH:MM-HH:MM": an end past midnight wraps (24:00 stays).
        out.into_iter()
            .map(|(s, e)| (s, if e > 1440 { e - 1440 } else { e }))
            .collect()
    })
}

/// The first hour of a UTC offset change of `tz` in `year`, if it has one.
fn transitions(tz: Tz, year: i32) -> Vec<DateTime<Utc>> {
    let mut t = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(year + 1, 1, 1, 0, 0, 0).unwrap();
    let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().to_string();
    let mut found = Vec::new();
    let mut last = offset(t);
    while t < end {
        t += Duration::hours(6);
        let now = offset(t);
        if now != last {
            found.push(t);
            last = now;
        }
    }
    found
}

pub(crate) fn case() -> impl Strategy<Value = (Spec, DateTime<Utc>)> {
    (
        0..ZONES.len(),
        prop::array::uniform7(day_windows()),
        prop::collection::vec((-2i64..12, prop::option::of(day_windows()), 0i64..6), 0..4),
        0u32..600,
        2011i32..2031,
        any::<prop::sample::Index>(),
        -2000i64..2000,
        any::<bool>(),
    )
        .prop_map(
            |(z, weekly, hol, first_response, year, pick, minutes, near_change)| {
                let zone = ZONES[z];
                let tz: Tz = zone.parse().unwrap();
                let changes = transitions(tz, year);
                let base = if near_change && !changes.is_empty() {
                    changes[pick.index(changes.len())]
                } else {
                    Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap()
                        + Duration::minutes(pick.index(365 * 1440) as i64)
                };
                let t = base + Duration::minutes(minutes);
                let today = t.with_timezone(&tz).date_naive();
                let mut holidays = BTreeMap::new();
                for (offset, windows, run) in hol {
                    let first = today + Duration::days(offset);
                    // A closed run of days, or one date with special hours.
                    match windows {
                        Some(w) if run == 0 => {
                            holidays.insert(first, Some(w));
                        }
                        _ => {
                            for i in 0..=run {
                                holidays.insert(first + Duration::days(i), None);
                            }
                        }
                    }
                }
                let spec = Spec {
                    zone,
                    weekly,
                    holidays,
                    first_response,
                };
                (spec, t)
            },
        )
}

/// How far the brute force looks.
const SCAN_MINUTES: i64 = 22 * 1440;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_schedule_agrees_with_the_rules_minute_by_minute((spec, t) in case()) {
        let Ok(h) = BusinessHours::from_json(&spec.json(), t) else {
            // Only "no open time within a year" may refuse a generated schedule.
            let e = BusinessHours::from_json(&spec.json(), t).unwrap_err();
            prop_assert!(e.reason.contains("no open time"), "{e}");
            return Ok(());
        };
        let minute = |k: i64| t + Duration::minutes(k);
        // open, over three days of minutes around t.
        for k in -1440..(2 * 1440) {
            prop_assert_eq!(h.is_open(minute(k)), spec.open(minute(k)), "open at {}", minute(k));
        }
        let a = h.availability(t);
        prop_assert_eq!(a.open, spec.open(t));
        let first_open = (0..SCAN_MINUTES).find(|k| spec.open(minute(*k)));
        if a.open {
            prop_assert_eq!(a.next_open, None);
            // closes_at: the first closed minute.
            if let Some(k) = (1..SCAN_MINUTES).find(|k| !spec.open(minute(*k))) {
                prop_assert_eq!(a.closes_at, Some(minute(k)));
            }
        } else {
            prop_assert_eq!(a.closes_at, None);
            match first_open {
                Some(k) => prop_assert_eq!(a.next_open, Some(minute(k)), "next_open"),
                None => prop_assert!(a.next_open.is_none_or(|n| n >= minute(SCAN_MINUTES))),
            }
        }
        // reply_by: exactly first_response minutes of open time from the start.
        if let Some(start) = first_open {
            let need = i64::from(spec.first_response);
            let mut count = 0;
            let mut expected = if need == 0 { Some(minute(start)) } else { None };
            let mut k = start;
            while expected.is_none() && k < SCAN_MINUTES {
                if spec.open(minute(k)) {
                    count += 1;
                    if count == need {
                        expected = Some(minute(k + 1));
                    }
                }
                k += 1;
            }
            if let Some(expected) = expected {
                prop_assert_eq!(a.reply_by, Some(expected), "reply_by");
                let r = expected;
                prop_assert!(spec.open(r) || spec.open(r - Duration::minutes(1)),
                    "an open instant or a stretch end");
            }
        }
    }

    #[test]
    fn no_valid_config_panics((spec, t) in case(), probes in prop::collection::vec(-(400i64 * 1440)..(400 * 1440), 1..8)) {
        if let Ok(h) = BusinessHours::from_json(&spec.json(), t) {
            for p in probes {
                let at = t + Duration::minutes(p);
                let a = h.availability(at);
                let _ = h.moment(at);
                if let Some(r) = a.reply_by {
                    prop_assert!(r >= at);
                }
                if let (Some(n), false) = (a.next_open, a.open) {
                    prop_assert!(n > at);
                }
            }
        }
    }

    /// The queue sorts waits by their start and lists them by deadline
    /// (`lifecycle::order`): that is right only if a later start never has an
    /// earlier deadline. (No deadline, beyond the horizon, sorts last.)
    #[test]
    fn a_later_wait_never_has_an_earlier_deadline((spec, t) in case(), steps in prop::collection::vec(0i64..(3 * 1440), 1..12)) {
        if let Ok(h) = BusinessHours::from_json(&spec.json(), t) {
            let mut at = t;
            let mut last = h.reply_by(at);
            for step in steps {
                at += Duration::minutes(step) + Duration::seconds(step % 7);
                let next = h.reply_by(at);
                match (last, next) {
                    (Some(a), Some(b)) => prop_assert!(a <= b, "{a} then {b} at {at}"),
                    (None, Some(b)) => prop_assert!(false, "none, then {b} at {at}"),
                    _ => {}
                }
                last = next;
            }
        }
    }

    /// A wait's business minutes are the minutes the rules say are open, counted
    /// one by one; and the promise's wait is exactly `first_response_minutes`.
    #[test]
    fn open_time_is_the_open_minutes_counted_one_by_one((spec, t) in case(), minutes in 0i64..(2 * 1440)) {
        if let Ok(h) = BusinessHours::from_json(&spec.json(), t) {
            let counted = (0..minutes)
                .filter(|m| spec.open(t + Duration::minutes(*m)))
                .count() as i64;
            prop_assert_eq!(h.open_time_between(t, t + Duration::minutes(minutes)).num_minutes(), counted);
            if let Some(by) = h.reply_by(t) {
                prop_assert_eq!(
                    h.open_time_between(t, by).num_minutes(),
                    i64::from(spec.first_response)
                );
            }
        }
    }
}
