//! Benchmark (not a test): what the reports function computes for a year of waits,
//! in memory, on this machine: measuring every wait again under other hours (what
//! a `BUSINESS_HOURS` change costs a report), a summary in total and grouped by day
//! and by hour of week, and the calibration (a binary search of the minutes each
//! answered wait needed). The waits are synthetic: a busy desk's year, started at
//! random minutes, most answered within a few business hours.
//!
//!     cargo run --release -p asyncdesk-tests --bin asyncdesk-bench-reports [-- WAITS]

use asyncdesk::conversation::{Channel, ConversationId};
use asyncdesk::hours::BusinessHours;
use asyncdesk::reports::measure::measure;
use asyncdesk::reports::summary::{GroupBy, figures, grouped};
use asyncdesk::reports::{Kind, Outcome, Wait, calibration};
use chrono::{DateTime, Duration, Utc};
use std::time::Instant;

const HOURS: &str = r#"{"timezone":"Europe/Berlin",
  "weekly":{"mon":["09:00-12:00","13:00-17:00"],"tue":["09:00-12:00","13:00-17:00"],
    "wed":["09:00-12:00","13:00-17:00"],"thu":["09:00-12:00","13:00-17:00"],
    "fri":["09:00-12:00","13:00-17:00"],"sat":["22:00-02:00"]},
  "holidays":["2026-12-24","2026-12-25","2027-01-01"],"first_response_minutes":60,
  "auto_reply":{"default":"x"}}"#;

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

fn waits(n: usize, hours: &BusinessHours, now: DateTime<Utc>) -> Vec<Wait> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let year = Duration::days(365).num_minutes() as u64;
    let channels = [
        Channel::Whatsapp,
        Channel::Telegram,
        Channel::Email,
        Channel::Web,
    ];
    (0..n)
        .map(|i| {
            let started = now - Duration::minutes(rng.below(year));
            let answered = started + Duration::minutes(rng.below(3 * 24 * 60));
            let outcome = match rng.below(20) {
                0 => Some(Outcome::Resolved),
                1 if answered > now => None,
                _ => Some(Outcome::Answered),
            };
            let ended = outcome.map(|o| (answered.min(now), o));
            let told = (!hours.is_open(started))
                .then(|| hours.reply_by(started))
                .flatten();
            Wait {
                conversation: ConversationId::parse(&format!("wa-{:032x}", i)).unwrap(),
                channel: channels[i % channels.len()],
                kind: if i % 3 == 0 { Kind::Next } else { Kind::First },
                started_at: started,
                ended_at: ended.map(|(at, _)| at),
                outcome,
                agent: outcome
                    .filter(|o| *o == Outcome::Answered)
                    .map(|_| format!("agent{}", i % 12)),
                told_reply_by: told,
                measured: measure(hours, started, ended, told),
            }
        })
        .collect()
}

fn timed<T>(what: &str, n: usize, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{what:<44} {ms:>9.1} ms  ({:.2} us a wait)",
        ms * 1000.0 / n as f64
    );
    out
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let now = Utc::now();
    let hours = BusinessHours::from_json(HOURS, now).expect("valid hours");
    let other = BusinessHours::from_json(
        &HOURS.replace(
            r#""first_response_minutes":60"#,
            r#""first_response_minutes":120"#,
        ),
        now,
    )
    .expect("valid hours");
    let mut all = timed("made and measured", n, || waits(n, &hours, now));
    println!(
        "{n} waits over a year, {} answered",
        all.iter()
            .filter(|w| w.outcome == Some(Outcome::Answered))
            .count()
    );
    let fingerprint = other.fingerprint();
    let recomputed = timed("measured again under other hours", n, || {
        all.iter_mut()
            .map(|w| w.remeasure(&other, &fingerprint))
            .filter(|r| *r)
            .count()
    });
    assert_eq!(recomputed, n);
    let refs: Vec<&Wait> = all.iter().collect();
    let totals = timed("summary: totals", n, || figures(&refs, now));
    let days = timed("summary: by day", n, || {
        grouped(&all, GroupBy::Day, other.timezone, now)
    });
    let heat = timed("summary: by hour of week", n, || {
        grouped(&all, GroupBy::HourOfWeek, other.timezone, now)
    });
    let cal = timed("calibration (every channel, and all)", n, || {
        calibration::calibrate(&all, &other)
    });
    println!(
        "kept rate {:?}, first reply median {:?} business minutes; {} days, {} hours of the week; suggested minutes (all) {:?}",
        totals.kept_rate,
        totals.first_reply.business_minutes.median,
        days.len(),
        heat.len(),
        cal.last().and_then(|c| c.suggested_minutes)
    );
}
