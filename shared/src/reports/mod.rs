//! Promises kept: every customer wait, measured against the promise made for it
//! (docs/reports.md has the definitions word for word).
//!
//! - this module: what a wait is, and how the lifecycle's changes of a conversation
//!   (two images of its item, from the table's stream) start, promise and end one;
//! - `measure`: a wait's business and wall time and whether its promise was kept,
//!   from its raw times and the business hours;
//! - `summary`: the figures of a set of waits, grouped;
//! - `calibration`: the `first_response_minutes` that would have kept 95%.
//!
//! Pure: no clock reads, no store.

pub mod calibration;
pub mod config;
pub mod measure;
#[cfg(test)]
mod props;
pub mod summary;

use crate::conversation::{Channel, ConversationId, ConversationStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the reports read of a conversation item (an image in the table's stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub id: ConversationId,
    pub channel: Channel,
    pub status: ConversationStatus,
    pub status_since: DateTime<Utc>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub promised_reply_by: Option<DateTime<Utc>>,
    pub promise_for: Option<DateTime<Utc>>,
    /// The agent whose answer ended the latest wait.
    pub answered_by: Option<String>,
}

impl Side {
    /// The auto-reply's promise for the wait that starts at `waiting_since`.
    fn told(&self) -> Option<DateTime<Utc>> {
        match (self.waiting_since, self.promise_for) {
            (Some(w), Some(f)) if w == f => self.promised_reply_by,
            _ => None,
        }
    }
}

/// Which wait: a conversation's wait is named by when it started.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WaitKey {
    pub conversation: ConversationId,
    pub channel: Channel,
    pub started_at: DateTime<Utc>,
}

/// Whether a wait starts a request or continues one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The conversation was new or resolved: the first reply time.
    First,
    /// An agent had answered (or snoozed it): the next reply time.
    Next,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::First => "first",
            Kind::Next => "next",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "first" => Some(Kind::First),
            "next" => Some(Kind::Next),
            _ => None,
        }
    }
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An agent answered on the customer's channel.
    Answered,
    /// An agent resolved the conversation without answering.
    Resolved,
    /// An agent snoozed it without answering.
    Snoozed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Resolved => "resolved",
            Outcome::Snoozed => "snoozed",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "answered" => Some(Outcome::Answered),
            "resolved" => Some(Outcome::Resolved),
            "snoozed" => Some(Outcome::Snoozed),
            _ => None,
        }
    }
}

/// What one change of a conversation does to its waits. The store writes each as
/// one conditional update, so a redelivered change writes nothing new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitChange {
    Start {
        key: WaitKey,
        kind: Kind,
    },
    /// The auto-reply promised an answer by `reply_by`.
    Promise {
        key: WaitKey,
        reply_by: DateTime<Utc>,
    },
    End {
        key: WaitKey,
        /// `Some` when the wait started with this change's old image unknown (the
        /// start was recorded, or the wait began before waits were recorded).
        kind: Option<Kind>,
        at: DateTime<Utc>,
        outcome: Outcome,
        agent: Option<String>,
        told: Option<DateTime<Utc>>,
    },
}

/// The wait changes between two images of a conversation item (`None`: no item,
/// before an insert or after a delete). A delete (erasure) ends nothing: the
/// erasure removes the conversation's waits itself.
pub fn changes(old: Option<&Side>, new: Option<&Side>) -> Vec<WaitChange> {
    let Some(new) = new else { return Vec::new() };
    let mut out = Vec::new();
    let was = old.and_then(|o| o.waiting_since);
    let key = |side: &Side, at: DateTime<Utc>| WaitKey {
        conversation: side.id.clone(),
        channel: side.channel,
        started_at: at,
    };
    if let (Some(old), Some(started)) = (old, was)
        && new.waiting_since != Some(started)
    {
        let outcome = match new.status {
            ConversationStatus::Pending => Outcome::Answered,
            ConversationStatus::Snoozed => Outcome::Snoozed,
            // Resolved, or (never written so) open with another wait.
            _ => Outcome::Resolved,
        };
        out.push(WaitChange::End {
            key: key(old, started),
            kind: None,
            at: new.status_since,
            outcome,
            agent: (outcome == Outcome::Answered)
                .then(|| new.answered_by.clone())
                .flatten(),
            told: old.told(),
        });
    }
    if let Some(started) = new.waiting_since
        && was != Some(started)
    {
        let kind = match old.map(|o| o.status) {
            None | Some(ConversationStatus::Resolved) => Kind::First,
            Some(_) => Kind::Next,
        };
        out.push(WaitChange::Start {
            key: key(new, started),
            kind,
        });
    }
    if let Some(reply_by) = new.told()
        && old.and_then(Side::told) != Some(reply_by)
    {
        out.push(WaitChange::Promise {
            key: key(new, new.waiting_since.unwrap_or(reply_by)),
            reply_by,
        });
    }
    out
}

/// One wait as recorded: its raw times, and what was measured of them under the
/// hours named by `hours`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wait {
    pub conversation: ConversationId,
    pub channel: Channel,
    pub kind: Kind,
    pub started_at: DateTime<Utc>,
    /// `None` while the customer still waits.
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    /// The agent whose answer ended it.
    pub agent: Option<String>,
    /// What the auto-reply told the customer, if it did.
    pub told_reply_by: Option<DateTime<Utc>>,
    /// The measured figures (see `measure`).
    #[serde(flatten)]
    pub measured: measure::Measured,
}

impl Wait {
    /// Measures the wait again under `hours` when its figures were measured under
    /// others (`true`: they were); the raw times never change.
    pub fn remeasure(&mut self, hours: &crate::hours::BusinessHours) -> bool {
        let fingerprint = hours.fingerprint();
        if self.measured.hours == fingerprint {
            return false;
        }
        let end = self.ended_at.zip(self.outcome);
        self.measured = measure::measure(hours, self.started_at, end, self.told_reply_by);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(m: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + m * 60, 0).unwrap()
    }

    fn side(status: ConversationStatus, since: i64, waiting: Option<i64>) -> Side {
        Side {
            id: ConversationId::parse("wa-0123456789abcdef0123456789abcdef").unwrap(),
            channel: Channel::Whatsapp,
            status,
            status_since: t(since),
            waiting_since: waiting.map(t),
            promised_reply_by: None,
            promise_for: None,
            answered_by: None,
        }
    }

    #[test]
    fn a_new_conversation_starts_a_first_wait_and_an_answer_ends_it() {
        let open = side(ConversationStatus::Open, 0, Some(0));
        let c = changes(None, Some(&open));
        assert!(
            matches!(&c[..], [WaitChange::Start { kind: Kind::First, key }] if key.started_at == t(0))
        );
        let mut answered = side(ConversationStatus::Pending, 30, None);
        answered.answered_by = Some("alice".into());
        let c = changes(Some(&open), Some(&answered));
        assert!(
            matches!(&c[..], [WaitChange::End { outcome: Outcome::Answered, at, agent: Some(a), .. }] if *at == t(30) && a == "alice")
        );
        // The customer writes again: a next wait.
        let again = side(ConversationStatus::Open, 40, Some(40));
        let c = changes(Some(&answered), Some(&again));
        assert!(matches!(
            &c[..],
            [WaitChange::Start {
                kind: Kind::Next,
                ..
            }]
        ));
        // A second message in the same wait changes nothing.
        assert!(changes(Some(&again), Some(&again.clone())).is_empty());
    }

    #[test]
    fn a_promise_is_recorded_once_for_its_wait_and_ends_with_it() {
        let open = side(ConversationStatus::Open, 0, Some(0));
        let mut promised = open.clone();
        promised.promised_reply_by = Some(t(600));
        promised.promise_for = Some(t(0));
        let c = changes(Some(&open), Some(&promised));
        assert!(matches!(&c[..], [WaitChange::Promise { reply_by, .. }] if *reply_by == t(600)));
        assert!(changes(Some(&promised), Some(&promised.clone())).is_empty());
        let mut resolved = promised.clone();
        resolved.status = ConversationStatus::Resolved;
        resolved.status_since = t(50);
        resolved.waiting_since = None;
        let c = changes(Some(&promised), Some(&resolved));
        assert!(
            matches!(&c[..], [WaitChange::End { outcome: Outcome::Resolved, told: Some(p), agent: None, .. }] if *p == t(600))
        );
    }

    #[test]
    fn a_delete_or_a_quiet_start_records_nothing() {
        let open = side(ConversationStatus::Open, 0, Some(0));
        assert!(changes(Some(&open), None).is_empty());
        let quiet = side(ConversationStatus::Resolved, 0, None);
        assert!(changes(None, Some(&quiet)).is_empty());
    }
}
