//! The waits a lifecycle change makes: comparing the state before and after a
//! change says whether a customer's wait began, was promised an answer, or ended
//! (and in which status). The reports record these events from the table's stream.

use super::State;
use crate::conversation::ConversationStatus;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitEvent {
    /// A wait began at `at`; `first` when the conversation was new or resolved (a new
    /// request), not when an agent had answered or snoozed it.
    Started { at: DateTime<Utc>, first: bool },
    /// The auto-reply promised an answer by `reply_by` for the wait that began at
    /// `wait`: the first promise of the wait only.
    Promised {
        wait: DateTime<Utc>,
        reply_by: DateTime<Utc>,
    },
    /// The wait that began at `wait` ended at `at`, the conversation going `into`
    /// that status (pending: answered); `told` is the latest promise it had (the
    /// store keeps the first one it recorded).
    Ended {
        wait: DateTime<Utc>,
        at: DateTime<Utc>,
        into: ConversationStatus,
        told: Option<DateTime<Utc>>,
    },
}

/// The wait events of the change from `old` (`None`: a new conversation) to `new`.
pub fn wait_events(old: Option<&State>, new: &State) -> Vec<WaitEvent> {
    let mut out = Vec::new();
    let was = old.and_then(|o| o.waiting_since);
    if let (Some(old), Some(wait)) = (old, was)
        && new.waiting_since != Some(wait)
    {
        out.push(WaitEvent::Ended {
            wait,
            at: new.status_since,
            into: new.status,
            told: old.live_promise(),
        });
    }
    if let Some(at) = new.waiting_since
        && was != Some(at)
    {
        let first = matches!(
            old.map(|o| o.status),
            None | Some(ConversationStatus::Resolved)
        );
        out.push(WaitEvent::Started { at, first });
    }
    // The first promise told for a wait: a later auto-reply in the same wait (the
    // next off-hours period) does not move what the wait is measured by.
    if let (Some(reply_by), Some(wait)) = (new.live_promise(), new.waiting_since)
        && old.and_then(State::live_promise).is_none()
    {
        out.push(WaitEvent::Promised { wait, reply_by });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Event, StateChange, StatusChange, apply};
    use super::*;
    use chrono::Duration;

    fn t(m: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(m)
    }

    /// The state after each event, and the wait events of each step.
    fn run(events: &[Event]) -> Vec<Vec<WaitEvent>> {
        let mut state: Option<State> = None;
        let mut out = Vec::new();
        for e in events {
            let next = apply(state.as_ref(), e).or(state.clone());
            out.push(match &next {
                Some(n) if Some(n) != state.as_ref() => wait_events(state.as_ref(), n),
                _ => Vec::new(),
            });
            state = next;
        }
        out
    }

    #[test]
    fn the_lifecycle_s_changes_start_promise_and_end_waits() {
        let resolve = StateChange {
            status: Some(StatusChange::Resolved),
            ..Default::default()
        };
        let snooze = StateChange {
            status: Some(StatusChange::Snoozed { until: t(500) }),
            ..Default::default()
        };
        let steps = run(&[
            Event::CustomerMessage { at: t(0) },
            Event::CustomerMessage { at: t(5) },
            Event::Promised { reply_by: t(60) },
            Event::Promised { reply_by: t(90) },
            Event::Answered { at: t(30) },
            Event::QuietMessage { at: t(35) },
            Event::CustomerMessage { at: t(40) },
            Event::Changed {
                change: snooze,
                at: t(45),
            },
            Event::Wake { at: t(500) },
            Event::Changed {
                change: resolve,
                at: t(510),
            },
            Event::CustomerMessage { at: t(600) },
        ]);
        use ConversationStatus::*;
        let ended = |wait, at, into, told| WaitEvent::Ended {
            wait: t(wait),
            at: t(at),
            into,
            told,
        };
        assert_eq!(
            steps,
            vec![
                vec![WaitEvent::Started {
                    at: t(0),
                    first: true
                }],
                vec![],
                vec![WaitEvent::Promised {
                    wait: t(0),
                    reply_by: t(60)
                }],
                vec![],
                vec![ended(0, 30, Pending, Some(t(90)))],
                vec![],
                vec![WaitEvent::Started {
                    at: t(40),
                    first: false
                }],
                vec![ended(40, 45, Snoozed, None)],
                vec![WaitEvent::Started {
                    at: t(500),
                    first: false
                }],
                vec![ended(500, 510, Resolved, None)],
                vec![WaitEvent::Started {
                    at: t(600),
                    first: true
                }],
            ]
        );
        // A machine's first message starts nothing.
        assert_eq!(run(&[Event::QuietMessage { at: t(0) }]), vec![vec![]]);
    }
}
