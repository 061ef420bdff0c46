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

// ---------------------------------------------------------------------------------
// Holidays, special hours, business-minute reply-by, the customer's own time.
// ---------------------------------------------------------------------------------

fn at(h: &BusinessHours, s: &str) -> Availability {
    h.availability(utc(s))
}

const OFFICE: &str = r#""mon":["09:00-17:00"],"tue":["09:00-17:00"],"wed":["09:00-17:00"],"thu":["09:00-17:00"],"fri":["09:00-17:00"]"#;

fn office(zone: &str, minutes: u32, extra: &str) -> BusinessHours {
    hours(&format!(
        r#"{{"timezone":"{zone}","weekly":{{{OFFICE}}},"first_response_minutes":{minutes}{extra},
        "auto_reply":{{"default":"By {{reply_by}}."}}}}"#
    ))
}

#[test]
fn reply_by_counts_open_minutes_across_the_berlin_dst_weekends() {
    let h = office("Europe/Berlin", 60, "");
    // Fri 27 Mar 16:30 CET: 30 minutes left today; Monday is CEST after the switch.
    let a = at(&h, "2026-03-27T15:30:00Z");
    assert!(a.open);
    assert_eq!(a.closes_at, Some(utc("2026-03-27T16:00:00Z")));
    assert_eq!(a.reply_by, Some(utc("2026-03-30T07:30:00Z")));
    // Saturday: closed, opens Monday 09:00 CEST, reply by 10:00 CEST.
    let a = at(&h, "2026-03-28T12:00:00Z");
    assert_eq!(
        (a.open, a.next_open, a.reply_by),
        (
            false,
            Some(utc("2026-03-30T07:00:00Z")),
            Some(utc("2026-03-30T08:00:00Z"))
        )
    );
    // Back to CET on 25 Oct.
    assert_eq!(
        at(&h, "2026-10-23T14:30:00Z").reply_by,
        Some(utc("2026-10-26T08:30:00Z"))
    );
}

#[test]
fn reply_by_counts_open_minutes_across_the_new_york_dst_weekends() {
    let h = office("America/New_York", 60, "");
    // Fri 6 Mar 16:30 EST -> Mon 9 Mar 09:30 EDT.
    assert_eq!(
        at(&h, "2026-03-06T21:30:00Z").reply_by,
        Some(utc("2026-03-09T13:30:00Z"))
    );
    // Fri 30 Oct 16:30 EDT -> Mon 2 Nov 09:30 EST.
    assert_eq!(
        at(&h, "2026-10-30T20:30:00Z").reply_by,
        Some(utc("2026-11-02T14:30:00Z"))
    );
    assert_eq!(
        h.render_reply_by(utc("2026-11-02T14:30:00Z")),
        "Mon 2 Nov, 09:30 EST"
    );
}

#[test]
fn an_overnight_shift_crossing_a_dst_change_lasts_its_real_length() {
    let h = hours(
        r#"{"timezone":"Europe/Berlin","weekly":{"sat":["22:00-06:00"]},"first_response_minutes":420,
        "auto_reply":{"default":"x"}}"#,
    );
    // 28 Mar 22:00 CET -> 29 Mar 06:00 CEST: 7 hours.
    let a = at(&h, "2026-03-28T21:00:00Z");
    assert_eq!(a.closes_at, Some(utc("2026-03-29T04:00:00Z")));
    assert_eq!(
        a.reply_by,
        Some(utc("2026-03-29T04:00:00Z")),
        "all 420 minutes, ending with the stretch"
    );
    assert!(h.is_open(utc("2026-03-29T01:30:00Z"))); // 03:30 CEST
    // 24 Oct 22:00 CEST -> 25 Oct 06:00 CET: 9 hours.
    assert_eq!(
        at(&h, "2026-10-24T20:00:00Z").closes_at,
        Some(utc("2026-10-25T05:00:00Z"))
    );
}

const YEAR_END: &str = r#"{"timezone":"Europe/Berlin",
    "weekly":{"mon":["09:00-17:00"],"tue":["09:00-17:00"],"wed":["09:00-17:00","20:00-02:00"],"thu":["09:00-17:00"],"fri":["09:00-17:00"]},
    "holidays":[{"from":"2026-12-24","to":"2026-12-26"},{"date":"2026-12-31","hours":["08:00-12:00"]},"2027-01-01"],
    "first_response_minutes":60,"auto_reply":{"default":"x"}}"#;

#[test]
fn the_year_end_with_holidays_special_hours_and_the_holiday_cut() {
    let h = hours(YEAR_END);
    // An ordinary Wednesday night runs into Thursday.
    assert!(h.is_open(utc("2026-12-17T00:00:00Z"))); // Thu 17 Dec 01:00 CET
    // Wed 23 Dec: the night shift is cut at midnight, 24 Dec being a holiday.
    assert!(h.is_open(utc("2026-12-23T22:30:00Z"))); // 23:30 CET
    assert!(!h.is_open(utc("2026-12-23T23:30:00Z"))); // 24 Dec 00:30 CET
    assert_eq!(
        at(&h, "2026-12-23T22:30:00Z").closes_at,
        Some(utc("2026-12-23T23:00:00Z"))
    );
    // Wed 30 Dec's night is cut too: 31 Dec has special hours of its own.
    assert!(!h.is_open(utc("2026-12-31T00:00:00Z"))); // 31 Dec 01:00 CET
    let a = at(&h, "2026-12-31T09:00:00Z"); // 10:00 CET
    assert_eq!(
        (a.open, a.closes_at),
        (true, Some(utc("2026-12-31T11:00:00Z")))
    );
    // 11:30 on the 31st: 30 minutes that day, then 1 Jan (holiday) and the weekend.
    assert_eq!(
        at(&h, "2026-12-31T10:30:00Z").reply_by,
        Some(utc("2027-01-04T08:30:00Z"))
    );
    let after = at(&h, "2026-12-31T11:30:00Z");
    assert_eq!(
        (after.open, after.next_open),
        (false, Some(utc("2027-01-04T08:00:00Z")))
    );
}

#[test]
fn a_three_week_closure_is_one_off_hours_period() {
    let h = office(
        "Europe/Berlin",
        60,
        r#","holidays":[{"from":"2026-12-21","to":"2027-01-10"}]"#,
    );
    let before = h.off_hours_period(utc("2026-12-18T17:00:00Z")).unwrap(); // Fri 18:00
    let middle = h.off_hours_period(utc("2026-12-28T10:00:00Z")).unwrap();
    let end = h.off_hours_period(utc("2027-01-10T20:00:00Z")).unwrap();
    assert_eq!(before.opens_at, utc("2027-01-11T08:00:00Z"));
    assert_eq!(before.key(), middle.key());
    assert_eq!(middle.key(), end.key());
    // Two nights of an ordinary week are two periods.
    let mon = h.off_hours_period(utc("2026-11-30T20:00:00Z")).unwrap();
    let mon_late = h.off_hours_period(utc("2026-12-01T02:00:00Z")).unwrap();
    let tue = h.off_hours_period(utc("2026-12-01T20:00:00Z")).unwrap();
    assert_eq!(mon.key(), mon_late.key(), "the same night");
    assert_ne!(mon.key(), tue.key(), "the next night");
}

#[test]
fn back_to_back_windows_are_one_stretch_also_across_midnight() {
    let h = hours(
        r#"{"timezone":"UTC","weekly":{"mon":["09:00-12:00","12:00-17:00"],"sun":["20:00-24:00"],"tue":["00:00-08:00"]},
        "first_response_minutes":600,"auto_reply":{"default":"x"}}"#,
    );
    assert_eq!(
        at(&h, "2026-11-30T10:00:00Z").closes_at,
        Some(utc("2026-11-30T17:00:00Z"))
    );
    // Mon 17:00 to Tue 00:00 closed; Sun 20:00-24:00 runs straight into nothing (Mon
    // 00:00-09:00 is closed), but a stretch ending at 24:00 and one starting at 00:00
    // merge: Mon night -> Tue 00:00-08:00 is not adjacent to Mon 17:00.
    assert_eq!(
        at(&h, "2026-11-29T21:00:00Z").closes_at,
        Some(utc("2026-11-30T00:00:00Z"))
    );
    let h = hours(
        r#"{"timezone":"UTC","weekly":{"sun":["20:00-24:00"],"mon":["00:00-08:00"]},"auto_reply":{"default":"x"}}"#,
    );
    assert_eq!(
        at(&h, "2026-11-29T21:00:00Z").closes_at,
        Some(utc("2026-11-30T08:00:00Z"))
    );
}

#[test]
fn a_customer_in_tokyo_writes_to_a_business_in_los_angeles() {
    let h = hours(&format!(
        r#"{{"timezone":"America/Los_Angeles","weekly":{{{OFFICE}}},"first_response_minutes":120,
        "auto_reply":{{"default":"Hi {{customer_name}}, we open {{next_open}} and reply by {{reply_by}} ({{reply_by_local}})."}}}}"#
    ));
    // Tue 1 Dec 10:00 in Tokyo = Mon 30 Nov 17:00 in Los Angeles: just closed.
    let p = h.off_hours_period(utc("2026-12-01T01:00:00Z")).unwrap();
    assert_eq!(p.opens_at, utc("2026-12-01T17:00:00Z"));
    assert_eq!(p.reply_by, utc("2026-12-01T19:00:00Z"));
    let tokyo = CustomerZone::from_phone("819012345678");
    assert_eq!(tokyo, Some(CustomerZone::Named(chrono_tz::Asia::Tokyo)));
    let text = h.auto_reply_text(
        &p,
        &Recipient {
            name: Some("Aiko"),
            zone: tokyo,
            ..Recipient::default()
        },
    );
    assert_eq!(
        text,
        "Hi Aiko, we open Tue 1 Dec, 09:00 PST and reply by Tue 1 Dec, 11:00 PST (Wed 2 Dec, 04:00 your time)."
    );
    // Unknown zone: the business's rendering; unknown name: the configured fallback.
    let text = h.auto_reply_text(&p, &Recipient::default());
    assert_eq!(
        text,
        "Hi there, we open Tue 1 Dec, 09:00 PST and reply by Tue 1 Dec, 11:00 PST (Tue 1 Dec, 11:00 PST)."
    );
    // An email's Date offset works the same way.
    let mail = CustomerZone::parse("+09:00");
    assert_eq!(
        h.render_local(p.reply_by, mail),
        "Wed 2 Dec, 04:00 your time"
    );
}

#[test]
fn customer_zones_come_only_from_single_zone_countries() {
    assert_eq!(
        CustomerZone::from_phone("+4915112345678")
            .map(|z| z.as_string())
            .as_deref(),
        Some("Europe/Berlin")
    );
    assert_eq!(
        CustomerZone::from_phone("447911123456")
            .map(|z| z.as_string())
            .as_deref(),
        Some("Europe/London")
    );
    assert_eq!(
        CustomerZone::from_phone("9779812345678")
            .map(|z| z.as_string())
            .as_deref(),
        Some("Asia/Kathmandu")
    );
    for multi in [
        "12125551234",
        "79161234567",
        "5511912345678",
        "61412345678",
        "525512345678",
    ] {
        assert_eq!(
            CustomerZone::from_phone(multi),
            None,
            "{multi}: several zones"
        );
    }
    assert_eq!(CustomerZone::from_phone("not-a-number"), None);
    // Every zone of the table is one chrono-tz knows, and the table is sorted.
    for (code, zone) in phone_zones::PHONE_ZONES {
        assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "+{code}: {zone}");
    }
    assert!(phone_zones::PHONE_ZONES.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(
        CustomerZone::parse("-03:30"),
        CustomerZone::from_offset_minutes(-210)
    );
    assert_eq!(CustomerZone::parse("+09:00").unwrap().as_string(), "+09:00");
}

#[test]
fn templates_are_picked_by_channel_and_language() {
    use crate::conversation::Channel;
    let h = hours(
        r#"{"timezone":"UTC","weekly":{"mon":["09:00-17:00"]},"auto_reply":{
        "default":"en", "languages":{"de":"de","pt-BR":"pt-br"},
        "channels":{"email":{"default":"email-en","languages":{"de":"email-de"}},"telegram":{"languages":{"fr":"tg-fr"}}}}}"#,
    );
    let pick = |channel, language| {
        h.template_for(&Recipient {
            channel,
            language,
            ..Recipient::default()
        })
        .to_string()
    };
    assert_eq!(pick(None, None), "en");
    assert_eq!(pick(Some(Channel::Whatsapp), Some("de-AT")), "de");
    assert_eq!(pick(Some(Channel::Email), Some("de")), "email-de");
    assert_eq!(
        pick(Some(Channel::Email), Some("pt-br")),
        "pt-br",
        "a language beats the channel's default"
    );
    assert_eq!(pick(Some(Channel::Email), Some("ja")), "email-en");
    assert_eq!(pick(Some(Channel::Telegram), Some("fr")), "tg-fr");
    assert_eq!(
        pick(Some(Channel::Telegram), Some("pt")),
        "en",
        "pt-BR is not pt"
    );
    assert_eq!(pick(Some(Channel::Telegram), Some("PT_br")), "pt-br");
}

#[test]
fn every_new_config_error_names_its_field() {
    let base = |extra: &str| {
        format!(
            r#"{{"timezone":"UTC","weekly":{{"mon":["09:00-17:00"]}}{extra},"auto_reply":{{"default":"x"}}}}"#
        )
    };
    let cases = [
        (base(r#","holidays":["2026-12-25","2026-12-25"]"#), "holidays[1]"),
        (base(r#","holidays":[{"from":"2026-12-20","to":"2026-12-26"},"2026-12-25"]"#), "holidays[1]"),
        (base(r#","holidays":[{"from":"2026-12-26","to":"2026-12-20"}]"#), "holidays[0]"),
        (base(r#","holidays":["25.12.2026"]"#), "holidays[0]"),
        (base(r#","holidays":[{"date":"2026-12-31","hours":["08:00-12:00","11:00-13:00"]}]"#), "holidays[0].hours"),
        (base(r#","holidays":[{"date":"2026-12-31","hours":["8-12"]}]"#), "holidays[0].hours[0]"),
        (base(r#","holidays":[{"date":"2026-12-31"}]"#), "holidays[0].hours"),
        (base(r#","holidays":[42]"#), "holidays[0]"),
        (base(r#","holidays":[{"from":"2026-11-01","to":"2027-11-01"}]"#), "holidays"),
        (r#"{"timezone":"UTC","weekly":{},"auto_reply":{"default":"x"}}"#.to_string(), "weekly"),
        (r#"{"timezone":"UTC","weekly":{"mon":["09:00-17:00"]},"auto_reply":{"default":"x","languages":{"de":"by {when}"}}}"#.to_string(), "auto_reply.languages.de"),
        (r#"{"timezone":"UTC","weekly":{"mon":["09:00-17:00"]},"auto_reply":{"default":"x","channels":{"fax":{"default":"x"}}}}"#.to_string(), "auto_reply.channels.fax"),
        (r#"{"timezone":"UTC","weekly":{"mon":["09:00-17:00"]},"auto_reply":{"default":"x","channels":{"email":{"languages":{"de":"{nope}"}}}}}"#.to_string(), "auto_reply.channels.email.languages.de"),
        (r#"{"timezone":"UTC","weekly":{"mon":["09:00-17:00"]},"auto_reply":{"default":"x","local_format":"%#z"}}"#.to_string(), "auto_reply.local_format"),
    ];
    for (json, field) in cases {
        let e = BusinessHours::from_json(&json, utc("2026-11-01T00:00:00Z")).unwrap_err();
        assert_eq!(e.field, field, "{json}: {e}");
    }
    // An overnight window that runs into the next date's windows is allowed: they merge.
    let h = hours(
        r#"{"timezone":"UTC","weekly":{"mon":["20:00-04:00"],"tue":["02:00-06:00"]},"auto_reply":{"default":"x"}}"#,
    );
    assert_eq!(
        at(&h, "2026-11-30T21:00:00Z").closes_at,
        Some(utc("2026-12-01T06:00:00Z"))
    );
    // Special hours alone can be the whole schedule.
    let special_only = BusinessHours::from_json(
        r#"{"timezone":"UTC","holidays":[{"date":"2026-12-05","hours":["10:00-12:00"]}],"auto_reply":{"default":"x"}}"#,
        utc("2026-11-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        special_only.next_open(utc("2026-11-01T00:00:00Z")),
        Some(utc("2026-12-05T10:00:00Z"))
    );
}

#[test]
fn searches_stop_at_the_horizon() {
    // Opens once, in 300 days; after that never again.
    let h = BusinessHours::from_json(
        r#"{"timezone":"UTC","holidays":[{"date":"2027-08-28","hours":["10:00-11:00"]}],"first_response_minutes":120,
        "auto_reply":{"default":"x"}}"#,
        utc("2026-11-01T00:00:00Z"),
    )
    .unwrap();
    let a = at(&h, "2026-11-01T00:00:00Z");
    assert_eq!(a.next_open, Some(utc("2027-08-28T10:00:00Z")));
    assert_eq!(a.reply_by, None, "only 60 of 120 minutes exist");
    assert_eq!(
        h.moment(utc("2026-11-01T00:00:00Z")),
        Moment::ClosedBeyondHorizon
    );
    let later = at(&h, "2027-09-01T00:00:00Z");
    assert_eq!(
        (later.open, later.next_open, later.reply_by),
        (false, None, None)
    );
    // A business open around the clock never closes within the horizon.
    let always = hours(
        r#"{"timezone":"UTC","weekly":{"mon":["00:00-24:00"],"tue":["00:00-24:00"],"wed":["00:00-24:00"],"thu":["00:00-24:00"],"fri":["00:00-24:00"],"sat":["00:00-24:00"],"sun":["00:00-24:00"]},"first_response_minutes":30,"auto_reply":{"default":"x"}}"#,
    );
    let a = at(&always, "2026-11-01T00:00:00Z");
    assert_eq!(
        (a.open, a.closes_at, a.reply_by),
        (true, None, Some(utc("2026-11-01T00:30:00Z")))
    );
}

#[test]
fn snooze_targets_follow_the_schedule() {
    let h = hours(BERLIN);
    // Monday 2026-11-23 10:00 local (open): the next opening is Tuesday 08:00, after
    // Monday's close; so is the next business day.
    let mon = utc("2026-11-23T09:00:00Z");
    assert_eq!(h.next_opening(mon), Some(utc("2026-11-24T07:00:00Z")));
    assert_eq!(h.next_business_day(mon), Some(utc("2026-11-24T07:00:00Z")));
    // Tuesday at lunch (closed): the next opening is 13:00 the same day; the next
    // business day is the following Monday.
    let lunch = utc("2026-11-24T11:30:00Z");
    assert_eq!(h.next_opening(lunch), Some(utc("2026-11-24T12:00:00Z")));
    assert_eq!(
        h.next_business_day(lunch),
        Some(utc("2026-11-30T07:00:00Z"))
    );
}

#[test]
fn the_next_business_day_is_not_the_night_shift_in_progress() {
    let h = hours(
        r#"{"timezone":"UTC","weekly":{"mon":["22:00-06:00"],"tue":["22:00-06:00"]},
        "auto_reply":{"default":"x"}}"#,
    );
    // Monday 23:00, in the shift that runs into Tuesday: the next business day is
    // Tuesday night's shift, not Tuesday 00:00.
    assert_eq!(
        h.next_business_day(utc("2026-11-23T23:00:00Z")),
        Some(utc("2026-11-24T22:00:00Z"))
    );
    // Sunday 20:00 (closed): Monday's shift begins on a later date.
    assert_eq!(
        h.next_business_day(utc("2026-11-22T20:00:00Z")),
        Some(utc("2026-11-23T22:00:00Z"))
    );
}
