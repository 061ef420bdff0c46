//! Calibration: for the answered waits of a period, the smallest
//! `first_response_minutes` whose deadline every one of 95% of them met, per
//! channel, against the configured one, with the kept rate each gives. A promise is
//! modelled as the deadline from the wait's start (what the auto-reply and the desk
//! compute), so the answer says what to configure for the promises to hold.

use super::measure::minutes_needed;
use super::summary::percentile;
use super::{Outcome, Wait};
use crate::hours::BusinessHours;
use serde::Serialize;
use std::collections::BTreeMap;

/// The share of promises the suggestion keeps.
pub const TARGET: f64 = 0.95;
/// Fewer answered waits than this make a suggestion a guess (`enough_samples`).
pub const MIN_SAMPLES: u64 = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// A channel, or `all`.
    pub channel: String,
    /// Answered waits measured.
    pub samples: u64,
    pub enough_samples: bool,
    pub configured_minutes: u32,
    /// The share of these waits the configured minutes' deadline kept.
    pub configured_kept_rate: Option<f64>,
    /// The smallest minutes that would have kept at least 95%; `None` without
    /// samples, or when that needs more than a week of open time.
    pub suggested_minutes: Option<u32>,
    pub suggested_kept_rate: Option<f64>,
}

fn rate(kept: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| (kept as f64 / of as f64 * 10_000.0).round() / 10_000.0)
}

fn calibrate_one(channel: String, needed: &[Option<u32>], configured: u32) -> Calibration {
    // Beyond a week sorts last.
    let mut sorted: Vec<i64> = needed
        .iter()
        .map(|m| m.map_or(i64::MAX, i64::from))
        .collect();
    sorted.sort_unstable();
    let kept_by = |m: u32| sorted.iter().filter(|n| **n <= i64::from(m)).count();
    let suggested = percentile(&sorted, TARGET)
        .filter(|m| *m != i64::MAX)
        .and_then(|m| u32::try_from(m).ok());
    Calibration {
        channel,
        samples: sorted.len() as u64,
        enough_samples: sorted.len() as u64 >= MIN_SAMPLES,
        configured_minutes: configured,
        configured_kept_rate: rate(kept_by(configured), sorted.len()),
        suggested_minutes: suggested,
        suggested_kept_rate: suggested.and_then(|m| rate(kept_by(m), sorted.len())),
    }
}

/// Calibration of every channel with answered waits, then of all of them.
pub fn calibrate(waits: &[Wait], hours: &BusinessHours) -> Vec<Calibration> {
    let mut by_channel: BTreeMap<&str, Vec<Option<u32>>> = BTreeMap::new();
    let mut all = Vec::new();
    for w in waits {
        let (Some(Outcome::Answered), Some(end)) = (w.outcome, w.ended_at) else {
            continue;
        };
        let needed = minutes_needed(hours, w.started_at, end);
        by_channel
            .entry(w.channel.as_str())
            .or_default()
            .push(needed);
        all.push(needed);
    }
    let configured = hours.first_response_minutes;
    let mut out: Vec<Calibration> = by_channel
        .into_iter()
        .map(|(c, needed)| calibrate_one(c.to_string(), &needed, configured))
        .collect();
    out.push(calibrate_one("all".into(), &all, configured));
    out
}

#[cfg(test)]
mod tests {
    use super::calibrate_one;

    #[test]
    fn the_suggestion_keeps_95_percent_and_says_what_the_configured_keeps() {
        // 20 waits needing 1..=20 minutes: 95% is the 19th.
        let needed: Vec<Option<u32>> = (1..=20).map(Some).collect();
        let c = calibrate_one("whatsapp".into(), &needed, 10);
        assert_eq!(c.suggested_minutes, Some(19));
        assert_eq!(c.suggested_kept_rate, Some(0.95));
        assert_eq!(c.configured_kept_rate, Some(0.5));
        assert!(c.enough_samples);
        // One wait beyond a week among two: no minutes keep 95%.
        let c = calibrate_one("email".into(), &[Some(5), None], 60);
        assert_eq!(c.suggested_minutes, None);
        assert_eq!(c.configured_kept_rate, Some(0.5));
        assert!(!c.enough_samples);
    }
}
