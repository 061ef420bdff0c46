//! The waits the reports read: recorded from the table's stream (one conditional
//! write per change), read back by the time they started.

use super::StoreError;
use crate::reports::measure::Measured;
use crate::reports::{Wait, WaitChange, WaitKey};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A page of waits and where the next one starts (`None`: no more).
#[derive(Debug, Clone, Default)]
pub struct WaitPage {
    pub waits: Vec<Wait>,
    pub next: Option<String>,
}

#[async_trait]
pub trait WaitStore: Send + Sync {
    /// Writes one change of a wait with its figures (`measured`, under the current
    /// hours). Idempotent: a start fills only what is missing, a promise is written
    /// once (the first told), and neither touches an ended wait; an end is written
    /// once.
    async fn record_wait(&self, change: &WaitChange, measured: &Measured)
    -> Result<(), StoreError>;

    /// The wait `key` names, as recorded (one consistent read).
    async fn get_wait(&self, key: &WaitKey) -> Result<Option<Wait>, StoreError>;

    /// The newest waits that started in `[since, until]`, newest first, at most
    /// `limit` (one query per month, newest month first).
    async fn recent_waits(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Wait>, StoreError>;

    /// Waits that started in `[from, to)`, oldest first, at most `limit`, after the
    /// page token `after` (a previous page's `next`; `InvalidCursor` when it is not
    /// one of this period's).
    async fn waits_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<WaitPage, StoreError>;
}
