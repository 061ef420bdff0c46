//! Table tests of the time rules; property tests are in `props.rs`.

use super::*;
use chrono::{DateTime, Utc};

fn hours(json: &str) -> BusinessHours {
    BusinessHours::from_json(json, utc("2026-11-01T00:00:00Z")).unwrap()
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
        h.next_open(utc("2026-11-24T11:30:00Z")),
        Some(utc("2026-11-24T12:00:00Z"))
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
        h.auto_reply_text(&p, &Recipient::default()),
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
        h.next_open(utc("2026-11-28T06:00:00Z")),
        Some(utc("2026-12-04T22:00:00Z"))
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
        h.next_open(utc("2026-03-28T12:00:00Z")),
        Some(utc("2026-03-29T01:00:00Z"))
    );
    assert_eq!(
        h.next_open(utc("2026-03-29T03:00:00Z")),
        Some(utc("2026-03-30T07:00:00Z"))
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
        h.next_open(utc("2026-03-28T12:00:00Z")),
        Some(utc("2026-03-30T07:00:00Z"))
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
        let e = BusinessHours::from_json(json, utc("2026-11-01T00:00:00Z")).unwrap_err();
        assert_eq!(e.field, field, "{json}: {e}");
    }
}
