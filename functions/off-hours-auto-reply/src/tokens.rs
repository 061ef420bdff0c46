//! The deployment's hourly cap, taken in blocks: a warm instance counts
//! `HOURLY_BLOCK` auto-replies in the hour's count with the claim write that needs
//! the first of them (one transaction), and spends the rest without a write. The
//! count is in shards, each with its share of the cap, so no item takes the whole
//! rate; a full shard sends the claim to the next. What an instance took and did not
//! spend before its hour ended is lost, which only makes the cap stricter (at most
//! `HOURLY_BLOCK - 1` per warm instance and hour). An instance takes one block at a
//! time.

use asyncdesk::autoreply::{HOURLY_BLOCK, hourly_shards};
use asyncdesk::ports::HourlyTake;
use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

pub struct HourlyTokens {
    shares: Vec<u32>,
    held: Mutex<Held>,
    /// Held while a claim takes a block: the instance's other claims wait for it and
    /// spend from it, so a burst takes one block, not one per claim (and their
    /// transactions do not meet on the shard's item).
    pub(crate) taking: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Held {
    hour: String,
    left: u32,
}

impl HourlyTokens {
    pub fn new(cap: u32) -> Self {
        HourlyTokens {
            shares: hourly_shards(cap),
            held: Mutex::new(Held::default()),
            taking: tokio::sync::Mutex::new(()),
        }
    }

    /// The cap (the shares' sum).
    pub fn cap(&self) -> u32 {
        self.shares.iter().sum()
    }

    /// Spends one token of `hour` this instance holds; `false` when it holds none.
    pub fn spend(&self, hour: &str) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.hour == hour && held.left > 0 {
            held.left -= 1;
            return true;
        }
        false
    }

    /// Gives back a token spent for a claim that was not written.
    pub fn unspend(&self, hour: &str) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.hour == hour {
            held.left += 1;
        }
    }

    /// The takes to try, in order, for a claim that needs a token: the customer's
    /// shard first (`seed`), then the others; a block, then a single one.
    pub fn plan(&self, hour: &str, seed: u64, now: DateTime<Utc>) -> Vec<HourlyTake> {
        let n = self.shares.len();
        let mut takes = Vec::new();
        for i in 0..n {
            let shard = (seed as usize + i) % n;
            let share = self.shares[shard];
            let block = HOURLY_BLOCK.min(share);
            for count in [block, 1].into_iter().take(if block > 1 { 2 } else { 1 }) {
                takes.push(HourlyTake {
                    hour: hour.to_string(),
                    shard: shard as u32,
                    share,
                    count,
                    expires_at: now + Duration::days(2),
                });
            }
        }
        takes
    }

    /// After a take was written: the block's other tokens are this instance's.
    pub fn took(&self, take: &HourlyTake) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.hour != take.hour {
            *held = Held {
                hour: take.hour.clone(),
                left: 0,
            };
        }
        held.left += take.count - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_spent_without_writes_and_a_new_hour_starts_empty() {
        let t = HourlyTokens::new(1000);
        let now = Utc::now();
        assert!(!t.spend("H1"));
        let plan = t.plan("H1", 3, now);
        assert_eq!(plan[0].count, 10);
        assert_eq!(plan[0].shard, 3);
        assert_eq!(plan[1].count, 1);
        assert_eq!(plan.len(), 16);
        t.took(&plan[0]);
        for _ in 0..9 {
            assert!(t.spend("H1"));
        }
        assert!(!t.spend("H1"));
        t.unspend("H1");
        assert!(t.spend("H1"));
        t.took(&plan[0]);
        assert!(!t.spend("H2"), "tokens of another hour are not spent");
    }

    #[test]
    fn a_small_cap_takes_one_at_a_time() {
        let t = HourlyTokens::new(2);
        let plan = t.plan("H", 0, Utc::now());
        assert_eq!(
            plan.iter()
                .map(|p| (p.shard, p.share, p.count))
                .collect::<Vec<_>>(),
            vec![(0, 1, 1), (1, 1, 1)]
        );
        assert_eq!(t.cap(), 2);
    }
}
