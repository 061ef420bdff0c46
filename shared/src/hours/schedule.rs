//! Open stretches and what they promise: open now, when it closes, when it opens
//! next, and reply-by in business minutes. Every search stops at the horizon (366
//! days), so none can loop.

use super::{BusinessHours, HORIZON_DAYS};
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use std::collections::VecDeque;

type Interval = (DateTime<Utc>, DateTime<Utc>);

/// One open stretch: merged windows. `complete` is false for the last stretch before
/// the horizon, which may go on beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stretch {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    complete: bool,
}

/// The merged open stretches of the windows of `date` onwards, up to `last`.
struct Stretches<'a> {
    hours: &'a BusinessHours,
    date: NaiveDate,
    last: NaiveDate,
    pending: VecDeque<Interval>,
    current: Option<Interval>,
}

impl Iterator for Stretches<'_> {
    type Item = Stretch;

    fn next(&mut self) -> Option<Stretch> {
        loop {
            if let Some(next) = self.pending.pop_front() {
                match self.current {
                    // Back to back or overlapping: one stretch.
                    Some((s, e)) if next.0 <= e => self.current = Some((s, e.max(next.1))),
                    Some((start, end)) => {
                        self.current = Some(next);
                        return Some(Stretch {
                            start,
                            end,
                            complete: true,
                        });
                    }
                    None => self.current = Some(next),
                }
            } else if self.date <= self.last {
                self.pending.extend(self.hours.intervals_of(self.date));
                match self.date.succ_opt() {
                    Some(d) => self.date = d,
                    None => self.last = self.date.pred_opt().unwrap_or(self.date),
                }
            } else {
                return self.current.take().map(|(start, end)| Stretch {
                    start,
                    end,
                    complete: false,
                });
            }
        }
    }
}

/// What the schedule says about an instant (`GET /availability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability {
    pub open: bool,
    /// The end of the current open stretch (when open and it ends within the horizon).
    pub closes_at: Option<DateTime<Utc>>,
    /// The start of the next open stretch (when closed).
    pub next_open: Option<DateTime<Utc>>,
    /// When `first_response_minutes` of open time have passed, counted from the
    /// instant (if open) or from the next opening (if closed).
    pub reply_by: Option<DateTime<Utc>>,
}

/// A closed stretch, for the auto-reply: when it ends and what is promised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffHoursPeriod {
    /// When the business opens again; also the period's identity.
    pub opens_at: DateTime<Utc>,
    /// When a human will have answered (business minutes from `opens_at`).
    pub reply_by: DateTime<Utc>,
}

impl OffHoursPeriod {
    /// A stable key for "one auto-reply per customer per period": the opening that
    /// ends it. Two instants in the same closed stretch share it, however long the
    /// stretch (a holiday run is one period).
    pub fn key(&self) -> String {
        self.opens_at.format("%Y-%m-%dT%H:%MZ").to_string()
    }
}

/// Where an instant falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    Open,
    Closed(OffHoursPeriod),
    /// Closed, with no opening (or no reply-by) within the horizon.
    ClosedBeyondHorizon,
}

impl BusinessHours {
    /// Local wall-clock time to an instant. In a DST gap the time does not exist and
    /// the first instant after the gap is used; in a repeated hour a start takes the
    /// earlier instant and an end the later one.
    fn resolve(&self, local: NaiveDateTime, is_end: bool) -> DateTime<Utc> {
        match self.timezone.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => if is_end { b } else { a }.with_timezone(&Utc),
            LocalResult::None => {
                // Forward minute by minute to the end of the gap; gaps are at most a
                // day (Pacific/Apia skipped 2011-12-30), so this is bounded.
                let mut probe = local;
                for _ in 0..(2 * 24 * 60) {
                    probe += Duration::minutes(1);
                    if let Some(t) = self.timezone.from_local_datetime(&probe).earliest() {
                        return t.with_timezone(&Utc);
                    }
                }
                Utc.from_utc_datetime(&local)
            }
        }
    }

    /// The open intervals of the windows of `date` (rules above), in start order.
    fn intervals_of(&self, date: NaiveDate) -> Vec<Interval> {
        let next_listed = date.succ_opt().is_some_and(|n| self.is_listed(n));
        let next_midnight = date
            .succ_opt()
            .map(|n| n.and_time(NaiveTime::MIN))
            .unwrap_or(NaiveDateTime::MAX);
        self.windows_of(date)
            .iter()
            .filter_map(|w| {
                let (start, mut end) = w.local(date);
                // A listed next date keeps only its own windows.
                if next_listed && end > next_midnight {
                    end = next_midnight;
                }
                let (start, end) = (self.resolve(start, false), self.resolve(end, true));
                (start < end).then_some((start, end))
            })
            .collect()
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// Stretches whose windows begin from the day before `at`'s local date up to the
    /// horizon. The first may have begun earlier (only its end is then exact).
    fn stretches_around(&self, at: DateTime<Utc>) -> Stretches<'_> {
        let today = self.local_date(at);
        Stretches {
            hours: self,
            date: today.pred_opt().unwrap_or(today),
            last: today
                .checked_add_signed(Duration::days(HORIZON_DAYS))
                .unwrap_or(NaiveDate::MAX),
            pending: VecDeque::new(),
            current: None,
        }
    }

    /// Whether the business is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let today = self.local_date(at);
        // Only yesterday's windows can reach into today.
        [today.pred_opt(), Some(today)]
            .into_iter()
            .flatten()
            .flat_map(|d| self.intervals_of(d))
            .any(|(s, e)| s <= at && at < e)
    }

    /// The start of the next open stretch after `at`, within the horizon.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.stretches_around(at)
            .find(|s| s.start > at)
            .map(|s| s.start)
    }

    /// When to wake a conversation snoozed "to the next opening": the next time the
    /// business opens after the current open stretch (or after `at` when closed).
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let a = self.availability(at);
        match (a.open, a.closes_at) {
            (true, Some(close)) => self.next_open(close),
            (true, None) => None,
            (false, _) => a.next_open,
        }
    }

    /// When to wake a conversation snoozed "to the next business day": the first
    /// opening on a later local date than `at`'s.
    pub fn next_business_day(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tomorrow = self.local_date(at).succ_opt()?;
        let midnight = tomorrow.and_hms_opt(0, 0, 0)?;
        // A midnight that a DST change skips: the earliest instant of that date.
        let start = (0..4)
            .find_map(|h| {
                chrono::TimeZone::from_local_datetime(
                    &self.timezone,
                    &(midnight + Duration::hours(h)),
                )
                .earliest()
            })?
            .with_timezone(&Utc);
        if self.is_open(start) {
            // Open at midnight: a stretch that began before `at` (an overnight shift
            // in progress) is not the next day's; one that began since is.
            let running = self.availability(start).closes_at;
            if self.is_open(at) && self.availability(at).closes_at == running {
                return self.next_open(running?);
            }
            return Some(start);
        }
        self.next_open(start)
    }

    /// Everything the schedule says about `at`.
    pub fn availability(&self, at: DateTime<Utc>) -> Availability {
        let mut stretches = self.stretches_around(at).skip_while(|s| s.end <= at);
        let Some(first) = stretches.next() else {
            return Availability {
                open: false,
                closes_at: None,
                next_open: None,
                reply_by: None,
            };
        };
        let open = first.start <= at;
        let from = if open { at } else { first.start };
        let reply_by = reply_by(
            std::iter::once(first).chain(stretches),
            from,
            Duration::minutes(self.first_response_minutes.into()),
        );
        Availability {
            open,
            closes_at: (open && first.complete).then_some(first.end),
            next_open: (!open).then_some(first.start),
            reply_by,
        }
    }

    /// Open time between `from` and `to`: how long a wait lasted in business time
    /// (zero when `to` is not after `from`; up to the horizon).
    pub fn open_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        for s in self.stretches_around(from) {
            if s.start >= to {
                break;
            }
            let (a, b) = (s.start.max(from), s.end.min(to));
            if b > a {
                total += b - a;
            }
            if !s.complete {
                break;
            }
        }
        total
    }

    /// Reply-by for a message at `at`: `first_response_minutes` of open time from `at`
    /// (if open) or from the next opening.
    pub fn reply_by(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.availability(at).reply_by
    }

    /// The reply-by `minutes` of open time would give a message at `at` (what
    /// `reply_by` says with another `first_response_minutes`): the reports'
    /// calibration asks it for every candidate target.
    pub fn deadline_after(&self, at: DateTime<Utc>, minutes: u32) -> Option<DateTime<Utc>> {
        let mut stretches = self.stretches_around(at).skip_while(|s| s.end <= at);
        let first = stretches.next()?;
        let from = if first.start <= at { at } else { first.start };
        reply_by(
            std::iter::once(first).chain(stretches),
            from,
            Duration::minutes(minutes.into()),
        )
    }

    /// A short digest of what decides business time (zone, weekly windows, listed
    /// dates, `first_response_minutes`): figures measured under other hours carry
    /// another one, so the reports can tell and recompute them.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut text = format!("{}|{}|", self.timezone.name(), self.first_response_minutes);
        for day in &self.weekly {
            for w in day {
                text.push_str(&format!("{}-{},", w.start, w.end));
            }
            text.push(';');
        }
        for (date, windows) in &self.listed {
            text.push_str(&format!("{date}:"));
            for w in windows {
                text.push_str(&format!("{}-{},", w.start, w.end));
            }
            text.push(';');
        }
        let digest = Sha256::digest(text.as_bytes());
        digest[..6].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Open, or the closed stretch `at` falls in with its promise.
    pub fn moment(&self, at: DateTime<Utc>) -> Moment {
        let a = self.availability(at);
        match (a.open, a.next_open, a.reply_by) {
            (true, _, _) => Moment::Open,
            (false, Some(opens_at), Some(reply_by)) => {
                Moment::Closed(OffHoursPeriod { opens_at, reply_by })
            }
            _ => Moment::ClosedBeyondHorizon,
        }
    }

    /// The off-hours period `at` falls in; `None` while open (or with no opening
    /// within the horizon).
    pub fn off_hours_period(&self, at: DateTime<Utc>) -> Option<OffHoursPeriod> {
        match self.moment(at) {
            Moment::Closed(p) => Some(p),
            _ => None,
        }
    }
}

/// The instant at which `need` of open time has passed in `stretches`, counted from
/// `from` (which is open, or the start of the first stretch); the end of a stretch
/// when it is used up exactly there. `None` when the horizon comes first.
fn reply_by(
    stretches: impl Iterator<Item = Stretch>,
    from: DateTime<Utc>,
    need: Duration,
) -> Option<DateTime<Utc>> {
    let mut left = need;
    for s in stretches {
        let start = s.start.max(from);
        if s.end <= start {
            continue;
        }
        let here = s.end - start;
        if here >= left {
            return Some(start + left);
        }
        if !s.complete {
            return None;
        }
        left -= here;
    }
    None
}
