//! A conversation's lifecycle, in one place: every transition (a customer message, a
//! machine's message, an agent's answer, an auto-reply's promise, an agent's PATCH, a
//! snooze ending, a failed delivery) decided as a pure function of the current state
//! and the event. The store turns a decision into one conditional write; `keys`
//! derives the queue indexes' keys from a state, `order` the queue's sort keys,
//! `waits` the customer waits a change starts, promises or ends (the reports').
//! No clock reads: every instant comes with the event.

pub mod keys;
pub mod merge;
pub mod order;
#[cfg(test)]
mod props;
pub mod waits;

use crate::conversation::{Conversation, ConversationStatus, Priority};
use chrono::{DateTime, Utc};

/// A status an agent sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Open,
    Resolved,
    Snoozed { until: DateTime<Utc> },
}

/// What an agent changes on a conversation (`PATCH`); `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateChange {
    pub status: Option<StatusChange>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<String>>,
    pub priority: Option<Priority>,
}

/// What the lifecycle rules read and write of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub status: ConversationStatus,
    /// Since when the conversation has its status.
    pub status_since: DateTime<Utc>,
    /// The first unanswered customer message's time; only while open.
    pub waiting_since: Option<DateTime<Utc>>,
    /// Only while snoozed.
    pub snooze_until: Option<DateTime<Utc>>,
    /// An auto-reply's promise, and the wait (`waiting_since`) it was made for.
    pub promised_reply_by: Option<DateTime<Utc>>,
    pub promise_for: Option<DateTime<Utc>>,
    pub priority: Priority,
    pub assignee: Option<String>,
}

impl State {
    /// The state of a stored conversation.
    pub fn of(c: &Conversation) -> State {
        State {
            status: c.status,
            status_since: c.status_since,
            waiting_since: c.waiting_since,
            snooze_until: c.snooze_until,
            promised_reply_by: c.promised_reply_by,
            promise_for: c.promise_for,
            priority: c.priority,
            assignee: c.assignee.clone(),
        }
    }

    /// The promise made for the current wait, if any: an auto-reply's reply-by holds
    /// until the wait it answered ends.
    pub fn live_promise(&self) -> Option<DateTime<Utc>> {
        match (self.status, self.waiting_since, self.promise_for) {
            (ConversationStatus::Open, Some(wait), Some(for_wait)) if wait == for_wait => {
                self.promised_reply_by
            }
            _ => None,
        }
    }

    fn new(status: ConversationStatus, at: DateTime<Utc>) -> State {
        State {
            status,
            status_since: at,
            waiting_since: (status == ConversationStatus::Open).then_some(at),
            snooze_until: None,
            promised_reply_by: None,
            promise_for: None,
            priority: Priority::Normal,
            assignee: None,
        }
    }

    fn open(&mut self, at: DateTime<Utc>) {
        if self.status != ConversationStatus::Open || self.waiting_since.is_none() {
            self.status = ConversationStatus::Open;
            self.status_since = at;
            self.waiting_since = Some(at);
        }
        self.snooze_until = None;
    }

    fn leave_open(&mut self, status: ConversationStatus, at: DateTime<Utc>) {
        self.status = status;
        self.status_since = at;
        self.waiting_since = None;
        self.snooze_until = None;
    }
}

/// What happened to a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A customer message that asks for an answer (sent at `at`): opens the
    /// conversation, or keeps it open with its wait.
    CustomerMessage { at: DateTime<Utc> },
    /// A message that asks for nothing (a reaction, a notice, a machine's mail):
    /// starts a conversation as resolved, changes nothing of an existing one.
    QuietMessage { at: DateTime<Utc> },
    /// An agent answered: the conversation waits for the customer.
    Answered { at: DateTime<Utc> },
    /// An auto-reply promised an answer by `reply_by` for the current wait.
    Promised { reply_by: DateTime<Utc> },
    /// An agent's change (`PATCH`).
    Changed {
        change: StateChange,
        at: DateTime<Utc>,
    },
    /// The snooze sweep at `at`: a snoozed conversation that is due reopens.
    Wake { at: DateTime<Utc> },
    /// A message of ours failed to arrive (at `at`): the conversation comes back to
    /// the open queue so an agent sees it.
    DeliveryFailed { at: DateTime<Utc> },
}

/// The state after `event`; `current` is `None` for a conversation not stored yet.
/// Returns `None` when nothing changes (the store then writes nothing of the
/// lifecycle), and for events that cannot start a conversation.
pub fn apply(current: Option<&State>, event: &Event) -> Option<State> {
    let Some(current) = current else {
        return match event {
            Event::CustomerMessage { at } => Some(State::new(ConversationStatus::Open, *at)),
            Event::QuietMessage { at } => Some(State::new(ConversationStatus::Resolved, *at)),
            _ => None,
        };
    };
    let mut next = current.clone();
    match event {
        Event::CustomerMessage { at } => next.open(*at),
        Event::QuietMessage { .. } => {}
        Event::Answered { at } => next.leave_open(ConversationStatus::Pending, *at),
        Event::Promised { reply_by } => {
            next.promised_reply_by = Some(*reply_by);
            // A promise made after the wait ended holds for no wait.
            next.promise_for = Some(
                next.waiting_since
                    .filter(|_| next.status == ConversationStatus::Open)
                    .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            );
        }
        Event::Changed { change, at } => {
            match change.status {
                Some(StatusChange::Open) => {
                    next.status = ConversationStatus::Open;
                    next.status_since = *at;
                    next.waiting_since = next.waiting_since.or(Some(*at));
                    next.snooze_until = None;
                }
                Some(StatusChange::Resolved) => next.leave_open(ConversationStatus::Resolved, *at),
                Some(StatusChange::Snoozed { until }) => {
                    next.leave_open(ConversationStatus::Snoozed, *at);
                    next.snooze_until = Some(until);
                }
                None => {}
            }
            if let Some(assignee) = &change.assignee {
                next.assignee = assignee.clone();
            }
            if let Some(priority) = change.priority {
                next.priority = priority;
            }
        }
        Event::Wake { at } => {
            let due = current.status == ConversationStatus::Snoozed
                && current.snooze_until.is_none_or(|u| u <= *at);
            if due {
                next.status = ConversationStatus::Open;
                next.status_since = *at;
                next.waiting_since = Some(*at);
                next.snooze_until = None;
            }
        }
        Event::DeliveryFailed { at } => next.open(*at),
    }
    (next != *current).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn a_customer_message_opens_once_and_keeps_the_wait() {
        let open = apply(None, &Event::CustomerMessage { at: t(0) }).unwrap();
        assert_eq!(open.status, ConversationStatus::Open);
        assert_eq!(open.waiting_since, Some(t(0)));
        assert_eq!(
            apply(Some(&open), &Event::CustomerMessage { at: t(5) }),
            None
        );
        let pending = apply(Some(&open), &Event::Answered { at: t(9) }).unwrap();
        assert_eq!(
            (pending.status, pending.waiting_since, pending.status_since),
            (ConversationStatus::Pending, None, t(9))
        );
        let reopened = apply(Some(&pending), &Event::CustomerMessage { at: t(20) }).unwrap();
        assert_eq!(reopened.waiting_since, Some(t(20)));
        assert_eq!(reopened.status_since, t(20));
    }

    #[test]
    fn a_quiet_message_starts_resolved_and_changes_nothing_else() {
        let s = apply(None, &Event::QuietMessage { at: t(0) }).unwrap();
        assert_eq!(s.status, ConversationStatus::Resolved);
        assert_eq!(apply(Some(&s), &Event::QuietMessage { at: t(3) }), None);
        assert_eq!(apply(None, &Event::Answered { at: t(0) }), None);
    }

    #[test]
    fn a_promise_holds_for_the_wait_it_answered() {
        let open = apply(None, &Event::CustomerMessage { at: t(0) }).unwrap();
        let promised = apply(Some(&open), &Event::Promised { reply_by: t(600) }).unwrap();
        assert_eq!(promised.live_promise(), Some(t(600)));
        let answered = apply(Some(&promised), &Event::Answered { at: t(700) }).unwrap();
        assert_eq!(answered.live_promise(), None);
        let again = apply(Some(&answered), &Event::CustomerMessage { at: t(800) }).unwrap();
        assert_eq!(again.live_promise(), None);
        // A promise recorded after the answer holds for nothing.
        let late = apply(Some(&answered), &Event::Promised { reply_by: t(900) }).unwrap();
        assert_eq!(late.promise_for, Some(DateTime::<Utc>::UNIX_EPOCH));
    }

    #[test]
    fn snoozed_wakes_only_when_due() {
        let open = apply(None, &Event::CustomerMessage { at: t(0) }).unwrap();
        let change = StateChange {
            status: Some(StatusChange::Snoozed { until: t(60) }),
            ..Default::default()
        };
        let snoozed = apply(Some(&open), &Event::Changed { change, at: t(1) }).unwrap();
        assert_eq!(snoozed.waiting_since, None);
        assert_eq!(apply(Some(&snoozed), &Event::Wake { at: t(59) }), None);
        let woken = apply(Some(&snoozed), &Event::Wake { at: t(60) }).unwrap();
        assert_eq!(woken.status, ConversationStatus::Open);
        assert_eq!(
            (woken.waiting_since, woken.snooze_until),
            (Some(t(60)), None)
        );
        assert_eq!(apply(Some(&woken), &Event::Wake { at: t(90) }), None);
    }

    #[test]
    fn a_failed_delivery_reopens_keeping_a_running_wait() {
        let open = apply(None, &Event::CustomerMessage { at: t(0) }).unwrap();
        assert_eq!(
            apply(Some(&open), &Event::DeliveryFailed { at: t(4) }),
            None
        );
        let pending = apply(Some(&open), &Event::Answered { at: t(5) }).unwrap();
        let back = apply(Some(&pending), &Event::DeliveryFailed { at: t(6) }).unwrap();
        assert_eq!(back.waiting_since, Some(t(6)));
    }

    #[test]
    fn a_patch_sets_assignee_and_priority() {
        let open = apply(None, &Event::CustomerMessage { at: t(0) }).unwrap();
        let change = StateChange {
            assignee: Some(Some("alice".into())),
            priority: Some(Priority::Urgent),
            ..Default::default()
        };
        let s = apply(Some(&open), &Event::Changed { change, at: t(1) }).unwrap();
        assert_eq!(
            (s.assignee.as_deref(), s.priority),
            (Some("alice"), Priority::Urgent)
        );
        assert_eq!(s.status_since, t(0));
        let unassign = StateChange {
            assignee: Some(None),
            ..Default::default()
        };
        let s = apply(
            Some(&s),
            &Event::Changed {
                change: unassign,
                at: t(2),
            },
        )
        .unwrap();
        assert_eq!(s.assignee, None);
    }
}
