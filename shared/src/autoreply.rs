//! The auto-reply's claim rules, pure: one claim item per customer decides, with one
//! conditional write, that a message gets the auto-reply of its off-hours period
//! (at most one per period, at most the daily cap in any 24 hours), and it names the
//! message that owns the auto-reply and the message it sends. A retry (a stream
//! redelivery, or the retry queue after a channel said 429) reads the claim and knows
//! what already happened: nothing sent yet (`Waiting`), or a send begun (`Sending`:
//! the thread shows its outcome, or the attempt died and the message may have gone
//! out, so it is never sent again). No clock is read here.

use chrono::{DateTime, Duration, Utc};

/// The customer's claim as stored (one item per customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The off-hours period whose auto-reply is claimed (`OffHoursPeriod::key`).
    pub period: String,
    /// The inbound message the auto-reply answers: the claim's owner.
    pub answers: String,
    /// Our outbound message: its id and its time, which make its key in the thread.
    pub reply_id: String,
    pub reply_at: DateTime<Utc>,
    pub stage: Stage,
    /// Sends the channel refused for now so far.
    pub attempts: u32,
    /// When the customer's claims of the last 24 hours were made (the daily cap).
    pub recent: Vec<DateTime<Utc>>,
    /// Bumped by every write; a write is conditioned on the one read.
    pub rev: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A send was begun (or is about to be): it may have gone out.
    Sending,
    /// The channel refused for now (429, unreachable) and nothing went out; the
    /// retry queue holds the next attempt.
    Waiting,
}

/// What a message may do with the customer's claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Write this claim (conditioned on the revision read), then send.
    Claim(Claim),
    /// This message owns the claim and nothing went out: take it back to `Sending`
    /// (conditioned on the revision read), then send.
    Resume(Claim),
    /// This message owns the claim and a send was begun: the thread tells whether
    /// its outcome was recorded; it is never sent again.
    Begun(Claim),
    /// Another message of this period has the auto-reply.
    PeriodTaken,
    /// The customer had the daily cap of auto-replies in the last 24 hours.
    DailyCapReached,
}

/// The decision for inbound message `answers` in `period` at `now`. `reply_id` is a
/// fresh id for the outbound message, used only when a new claim is made.
pub fn decide(
    current: Option<&Claim>,
    answers: &str,
    period: &str,
    now: DateTime<Utc>,
    daily_cap: u32,
    reply_id: &str,
) -> Decision {
    if let Some(c) = current
        && c.period == period
    {
        if c.answers != answers {
            return Decision::PeriodTaken;
        }
        return match c.stage {
            Stage::Sending => Decision::Begun(c.clone()),
            Stage::Waiting => Decision::Resume(Claim {
                stage: Stage::Sending,
                rev: c.rev + 1,
                ..c.clone()
            }),
        };
    }
    let day_ago = now - Duration::hours(24);
    let mut recent: Vec<DateTime<Utc>> = current
        .map(|c| c.recent.iter().copied().filter(|t| *t > day_ago).collect())
        .unwrap_or_default();
    if recent.len() >= daily_cap as usize {
        return Decision::DailyCapReached;
    }
    recent.push(now);
    Decision::Claim(Claim {
        period: period.to_string(),
        answers: answers.to_string(),
        reply_id: reply_id.to_string(),
        reply_at: now,
        stage: Stage::Sending,
        attempts: 0,
        recent,
        rev: current.map_or(0, |c| c.rev + 1),
    })
}

/// SQS's longest delay; a longer wait is taken in several hops.
pub const MAX_RETRY_DELAY_SECS: u64 = 900;
/// The first wait when the channel names none; doubled per attempt.
pub const FIRST_RETRY_DELAY_SECS: u64 = 30;

/// When the next attempt goes, after `attempts` failed ones: the channel's
/// `retry_after` when it gave one, else 30 s doubled per attempt, within 1-900 s.
/// `None` when that is at or past `reply_by`: an auto-reply that arrives after the
/// time it promises would not be true any more.
pub fn next_attempt(
    now: DateTime<Utc>,
    retry_after: Option<u64>,
    attempts: u32,
    reply_by: DateTime<Utc>,
) -> Option<(u64, DateTime<Utc>)> {
    let backoff = FIRST_RETRY_DELAY_SECS.saturating_mul(1u64 << attempts.min(10));
    let delay = retry_after
        .unwrap_or(backoff)
        .clamp(1, MAX_RETRY_DELAY_SECS);
    let at = now + Duration::seconds(delay as i64);
    (at < reply_by).then_some((delay, at))
}

/// How many auto-replies a warm instance takes from the deployment's hourly count in
/// one conditional write.
pub const HOURLY_BLOCK: u32 = 10;

/// The shards of the hourly count (one item each, so no item takes the whole rate),
/// and each shard's share of `cap`: the shares add up to `cap` exactly.
pub fn hourly_shards(cap: u32) -> Vec<u32> {
    let n = cap.clamp(1, 8);
    (0..n).map(|i| cap / n + u32::from(i < cap % n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn claimed(d: Decision) -> Claim {
        match d {
            Decision::Claim(c) => c,
            other => panic!("expected a claim, got {other:?}"),
        }
    }

    #[test]
    fn the_first_message_of_a_period_claims_it_and_the_next_does_not() {
        let now = t("2026-11-24T21:00:00Z");
        let c = claimed(decide(None, "m1", "P1", now, 3, "out-1"));
        assert_eq!((c.rev, c.stage, c.recent.len()), (0, Stage::Sending, 1));
        assert_eq!(
            decide(Some(&c), "m2", "P1", now, 3, "out-2"),
            Decision::PeriodTaken
        );
        // The owner, seen again with a send begun: never a second send.
        assert_eq!(
            decide(Some(&c), "m1", "P1", now, 3, "out-3"),
            Decision::Begun(c.clone())
        );
    }

    #[test]
    fn a_waiting_claim_is_resumed_by_its_owner_only() {
        let now = t("2026-11-24T21:00:00Z");
        let mut c = claimed(decide(None, "m1", "P1", now, 3, "out-1"));
        c.stage = Stage::Waiting;
        c.attempts = 1;
        match decide(Some(&c), "m1", "P1", now, 3, "out-9") {
            Decision::Resume(r) => {
                assert_eq!(
                    (r.stage, r.rev, r.attempts, r.reply_id.as_str()),
                    (Stage::Sending, 1, 1, "out-1")
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decide(Some(&c), "m2", "P1", now, 3, "out-9"),
            Decision::PeriodTaken
        );
    }

    #[test]
    fn the_daily_cap_counts_the_last_24_hours_only() {
        let mut now = t("2026-11-24T00:00:00Z");
        let mut c = claimed(decide(None, "m0", "P0", now, 2, "o"));
        now += Duration::hours(8);
        c = claimed(decide(Some(&c), "m1", "P1", now, 2, "o"));
        now += Duration::hours(8);
        assert_eq!(
            decide(Some(&c), "m2", "P2", now, 2, "o"),
            Decision::DailyCapReached
        );
        // 24 hours after the first claim, its slot is free again.
        now = t("2026-11-25T00:00:01Z");
        let c = claimed(decide(Some(&c), "m3", "P3", now, 2, "o"));
        assert_eq!(c.recent.len(), 2);
        assert_eq!(c.rev, 2);
    }

    #[test]
    fn a_retry_waits_what_the_channel_says_within_the_promise() {
        let now = t("2026-11-24T21:00:00Z");
        let reply_by = t("2026-11-25T08:30:00Z");
        assert_eq!(next_attempt(now, Some(7), 0, reply_by).unwrap().0, 7);
        assert_eq!(next_attempt(now, None, 0, reply_by).unwrap().0, 30);
        assert_eq!(next_attempt(now, None, 2, reply_by).unwrap().0, 120);
        assert_eq!(next_attempt(now, None, 30, reply_by).unwrap().0, 900);
        assert_eq!(next_attempt(now, Some(0), 0, reply_by).unwrap().0, 1);
        // Past the promise: no retry.
        let soon = now + Duration::seconds(20);
        assert_eq!(next_attempt(now, None, 0, soon), None);
    }

    #[test]
    fn hourly_shares_add_up_to_the_cap() {
        for cap in [1, 2, 7, 8, 9, 1000, 100_000] {
            let shares = hourly_shards(cap);
            assert_eq!(shares.iter().sum::<u32>(), cap);
            assert!(shares.iter().all(|s| *s >= 1));
            assert!(shares.len() <= 8);
        }
    }
}
