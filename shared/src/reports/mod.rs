//! Promises kept: every customer wait, measured against the promise made for it
//! (docs/reports.md has the definitions word for word).
//!
//! - this module: what a wait is, and the lifecycle's wait events
//!   (`lifecycle::waits`) of a conversation's change (two images of its item, from
//!   the table's stream) as the changes of its waits;
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
use crate::lifecycle::State;
use crate::lifecycle::waits::{WaitEvent, wait_events};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the reports read of a conversation item (an image in the table's stream):
/// its lifecycle state, and the agent whose answer ended its latest wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub id: ConversationId,
    pub channel: Channel,
    pub state: State,
    pub answered_by: Option<String>,
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
        at: DateTime<Utc>,
        outcome: Outcome,
        agent: Option<String>,
        told: Option<DateTime<Utc>>,
    },
}

/// The wait changes between two images of a conversation item (`None`: no item,
/// before an insert or after a delete): the lifecycle's wait events
/// (`lifecycle::waits`), named. A delete (erasure) ends nothing.
pub fn changes(old: Option<&Side>, new: Option<&Side>) -> Vec<WaitChange> {
    let Some(new) = new else { return Vec::new() };
    let key = |side: &Side, at: DateTime<Utc>| WaitKey {
        conversation: side.id.clone(),
        channel: side.channel,
        started_at: at,
    };
    wait_events(old.map(|o| &o.state), &new.state)
        .into_iter()
        .map(|event| match event {
            WaitEvent::Started { at, first } => WaitChange::Start {
                key: key(new, at),
                kind: if first { Kind::First } else { Kind::Next },
            },
            WaitEvent::Promised { wait, reply_by } => WaitChange::Promise {
                key: key(new, wait),
                reply_by,
            },
            WaitEvent::Ended {
                wait,
                at,
                into,
                told,
            } => {
                let outcome = match into {
                    ConversationStatus::Pending => Outcome::Answered,
                    ConversationStatus::Snoozed => Outcome::Snoozed,
                    // Resolved, or (never written so) open with another wait.
                    _ => Outcome::Resolved,
                };
                WaitChange::End {
                    key: key(new, wait),
                    at,
                    outcome,
                    agent: (outcome == Outcome::Answered)
                        .then(|| new.answered_by.clone())
                        .flatten(),
                    told,
                }
            }
        })
        .collect()
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
    /// Measures the wait again under `hours` (whose fingerprint is `fingerprint`)
    /// when its figures were measured under others (`true`: they were); the raw
    /// times never change.
    pub fn remeasure(&mut self, hours: &crate::hours::BusinessHours, fingerprint: &str) -> bool {
        if self.measured.hours == fingerprint {
            return false;
        }
        let end = self.ended_at.zip(self.outcome);
        self.measured =
            measure::measure_as(hours, fingerprint, self.started_at, end, self.told_reply_by);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{Event, apply};

    fn t(m: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + m * 60, 0).unwrap()
    }

    fn side(state: State, agent: Option<&str>) -> Side {
        Side {
            id: ConversationId::parse("wa-0123456789abcdef0123456789abcdef").unwrap(),
            channel: Channel::Whatsapp,
            state,
            answered_by: agent.map(str::to_string),
        }
    }

    #[test]
    fn an_answer_names_its_agent_and_an_end_without_one_names_none() {
        let open = apply(None, &Event::CustomerMessage { at: t(0) }).unwrap();
        let c = changes(None, Some(&side(open.clone(), None)));
        assert!(
            matches!(&c[..], [WaitChange::Start { kind: Kind::First, key }] if key.started_at == t(0))
        );
        let answered = apply(Some(&open), &Event::Answered { at: t(30) }).unwrap();
        let c = changes(
            Some(&side(open.clone(), None)),
            Some(&side(answered, Some("alice"))),
        );
        assert!(
            matches!(&c[..], [WaitChange::End { outcome: Outcome::Answered, at, agent: Some(a), .. }] if *at == t(30) && a == "alice")
        );
        // An agent who answered an earlier wait is not this one's.
        let change = crate::lifecycle::StateChange {
            status: Some(crate::lifecycle::StatusChange::Resolved),
            ..Default::default()
        };
        let resolved = apply(Some(&open), &Event::Changed { change, at: t(40) }).unwrap();
        let c = changes(
            Some(&side(open, Some("bob"))),
            Some(&side(resolved, Some("bob"))),
        );
        assert!(matches!(
            &c[..],
            [WaitChange::End {
                outcome: Outcome::Resolved,
                agent: None,
                ..
            }]
        ));
    }

    #[test]
    fn a_delete_records_nothing() {
        let open = apply(None, &Event::CustomerMessage { at: t(0) }).unwrap();
        assert!(changes(Some(&side(open, None)), None).is_empty());
    }
}
