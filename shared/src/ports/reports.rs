//! The waits the reports read: recorded from the table's stream (one conditional
//! write per change), read back by the time they started.

use super::StoreError;
use crate::reports::measure::Measured;
use crate::reports::{Wait, WaitChange};
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
    /// hours). Idempotent: a start or promise fills only what is missing and leaves
    /// an ended wait alone; an end is written once.
    async fn record_wait(&self, change: &WaitChange, measured: &Measured)
    -> Result<(), StoreError>;

    /// Waits that started in `[from, to)`, oldest first, at most `limit`, after the
    /// page token `after` (a previous page's `next`).
    async fn waits_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<WaitPage, StoreError>;
}
