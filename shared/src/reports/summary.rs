//! The figures of a set of waits, in total and grouped (docs/reports.md defines
//! each one). Days, weeks and hours of the week are the business's local ones.

use super::{Kind, Outcome, Wait};
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeMap;

/// How `GET /reports/summary` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Week,
    Channel,
    Agent,
    HourOfWeek,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        match s {
            "day" => Some(GroupBy::Day),
            "week" => Some(GroupBy::Week),
            "channel" => Some(GroupBy::Channel),
            "agent" => Some(GroupBy::Agent),
            "hour_of_week" => Some(GroupBy::HourOfWeek),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Week => "week",
            GroupBy::Channel => "channel",
            GroupBy::Agent => "agent",
            GroupBy::HourOfWeek => "hour_of_week",
        }
    }
}

/// The group a wait falls in, and where that group sorts.
pub fn group_of(wait: &Wait, by: GroupBy, tz: Tz) -> (String, String) {
    let local = wait.started_at.with_timezone(&tz);
    match by {
        GroupBy::Day => {
            let d = local.date_naive().to_string();
            (d.clone(), d)
        }
        GroupBy::Week => {
            let monday =
                local.date_naive() - Duration::days(local.weekday().num_days_from_monday().into());
            let d = monday.to_string();
            (d.clone(), d)
        }
        GroupBy::Channel => {
            let c = wait.channel.as_str().to_string();
            (c.clone(), c)
        }
        GroupBy::Agent => {
            let a = wait.agent.clone().unwrap_or_default();
            (a.clone(), a)
        }
        GroupBy::HourOfWeek => {
            let day = local.weekday();
            let key = format!("{} {:02}", &day.to_string().to_lowercase(), local.hour());
            let sort = format!("{}{:02}", day.num_days_from_monday(), local.hour());
            (key, sort)
        }
    }
}

/// A median and a 90th percentile, in minutes (nearest rank).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Spread {
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

/// The value at rank ceil(q * n) of the sorted values (nearest-rank percentile).
pub fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn spread(mut seconds: Vec<i64>) -> Spread {
    seconds.sort_unstable();
    let m = |s: Option<i64>| s.map(|v| (v as f64 / 60.0 * 100.0).round() / 100.0);
    Spread {
        median: m(percentile(&seconds, 0.5)),
        p90: m(percentile(&seconds, 0.9)),
    }
}

/// Reply times of answered waits of one kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReplyTimes {
    pub count: u64,
    pub business_minutes: Spread,
    pub wall_minutes: Spread,
}

fn reply_times<'a>(waits: impl Iterator<Item = &'a Wait>) -> ReplyTimes {
    let (mut business, mut wall) = (Vec::new(), Vec::new());
    for w in waits {
        if let (Some(b), Some(c)) = (w.measured.business_seconds, w.measured.wall_seconds) {
            business.push(b);
            wall.push(c);
        }
    }
    ReplyTimes {
        count: business.len() as u64,
        business_minutes: spread(business),
        wall_minutes: spread(wall),
    }
}

/// The figures of some waits.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Waits that started in the period.
    pub waits: u64,
    pub answered: u64,
    /// Resolved or snoozed without an answer.
    pub ended_without_answer: u64,
    /// Still waiting.
    pub waiting: u64,
    /// Promises decided: answered, or still waiting past the promise.
    pub promises_due: u64,
    pub promises_kept: u64,
    /// `promises_kept / promises_due`; `None` with none due.
    pub kept_rate: Option<f64>,
    pub first_reply: ReplyTimes,
    pub next_reply: ReplyTimes,
}

/// Whether a wait's promise is decided at `now`, and kept.
pub fn verdict(w: &Wait, now: DateTime<Utc>) -> Option<bool> {
    match w.outcome {
        Some(Outcome::Answered) => w.measured.kept,
        Some(_) => None,
        None => w.measured.promise_at.filter(|p| *p < now).map(|_| false),
    }
}

pub fn figures(waits: &[&Wait], now: DateTime<Utc>) -> Figures {
    let count = |f: &dyn Fn(&Wait) -> bool| waits.iter().filter(|w| f(w)).count() as u64;
    let verdicts: Vec<bool> = waits.iter().filter_map(|w| verdict(w, now)).collect();
    let due = verdicts.len() as u64;
    let kept = verdicts.iter().filter(|k| **k).count() as u64;
    let answered = |kind: Kind| {
        waits
            .iter()
            .copied()
            .filter(move |w| w.kind == kind && w.outcome == Some(Outcome::Answered))
    };
    Figures {
        waits: waits.len() as u64,
        answered: count(&|w| w.outcome == Some(Outcome::Answered)),
        ended_without_answer: count(&|w| {
            matches!(w.outcome, Some(Outcome::Resolved | Outcome::Snoozed))
        }),
        waiting: count(&|w| w.outcome.is_none()),
        promises_due: due,
        promises_kept: kept,
        kept_rate: (due > 0).then(|| (kept as f64 / due as f64 * 10_000.0).round() / 10_000.0),
        first_reply: reply_times(answered(Kind::First)),
        next_reply: reply_times(answered(Kind::Next)),
    }
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub key: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The figures of each group, in the group's order.
pub fn grouped(waits: &[Wait], by: GroupBy, tz: Tz, now: DateTime<Utc>) -> Vec<Group> {
    let mut groups: BTreeMap<String, (String, Vec<&Wait>)> = BTreeMap::new();
    for w in waits {
        let (key, sort) = group_of(w, by, tz);
        groups
            .entry(sort)
            .or_insert_with(|| (key, Vec::new()))
            .1
            .push(w);
    }
    groups
        .into_values()
        .map(|(key, ws)| Group {
            key,
            figures: figures(&ws, now),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 0.5), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 0.5), Some(3));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 0.9), Some(9));
        assert_eq!(percentile(&ten, 0.95), Some(10));
    }
}
