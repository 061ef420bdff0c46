//! The queue indexes' keys of a conversation, derived from its lifecycle state
//! alone (docs/data-model.md, "The queue's indexes"). Every key is written only when
//! the state changes, so a message to an open conversation writes no index.
//!
//! - `by_status` (`sq`, `sq_at`): every conversation, in a partition of its status,
//!   sharded. Open ones by urgency and by whether a promise holds (`open#u#p#2`),
//!   sorted by the wait's start; the others by the time they got their status.
//! - `by_deadline` (`dl`, `dl_at`), sparse: the promises that hold (`promise#n#1`,
//!   sorted by the promise), and the snoozed conversations (`wake#3`, sorted by
//!   `snooze_until`).
//! - `by_agent` (`aq`, `aq_at`), sparse: an assigned conversation that is not
//!   resolved, in its agent's partition of its status (`alice#open`).
//!
//! Sort keys are strings, `<13-digit epoch ms>#...#<conversation id>`, so that every
//! order is total and a cursor can name the exact place to go on from.

use super::State;
use crate::conversation::{ConversationId, ConversationStatus, Priority};
use chrono::{DateTime, Datelike, Utc};

/// How many partitions each queue is spread over. Each partition of an index takes
/// about 1,000 writes a second; status changes (not messages) write the index, so 4
/// shards carry about 4,000 status changes a second per status. Raising it needs a
/// re-key of the stored conversations (`asyncdesk-rekey`).
pub const SHARDS: u32 = 4;

/// The queue indexes.
pub const STATUS_INDEX: &str = "by_status";
pub const DEADLINE_INDEX: &str = "by_deadline";
pub const AGENT_INDEX: &str = "by_agent";

/// The shard of a conversation: from its id's digest, so it never changes.
pub fn shard(id: &ConversationId) -> u32 {
    let digest = id.digest();
    u32::from_str_radix(digest.get(..2).unwrap_or("0"), 16).unwrap_or(0) % SHARDS
}

/// An instant as a sort key part: 13 digits of epoch milliseconds.
pub fn ms13(at: DateTime<Utc>) -> String {
    format!("{:013}", at.timestamp_millis().clamp(0, 9_999_999_999_999))
}

/// One index entry: partition and sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub partition: String,
    pub sort: String,
}

/// A conversation's entries in the three indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub status: Entry,
    pub deadline: Option<Entry>,
    pub agent: Option<Entry>,
}

/// The partition of open conversations of one urgency, shard, with or without a
/// promise that holds.
pub fn open_partition(urgent: bool, promised: bool, shard: u32) -> String {
    format!(
        "open#{}#{}#{shard}",
        if urgent { "u" } else { "n" },
        if promised { "p" } else { "w" }
    )
}

/// The partition of pending or snoozed conversations of one shard.
pub fn status_partition(status: ConversationStatus, shard: u32) -> String {
    format!("{}#{shard}", status.as_str())
}

/// The partition of the conversations resolved in that month (UTC), of one shard.
pub fn resolved_partition(year: i32, month: u32, shard: u32) -> String {
    format!("resolved#{year:04}-{month:02}#{shard}")
}

pub fn promise_partition(urgent: bool, shard: u32) -> String {
    format!("promise#{}#{shard}", if urgent { "u" } else { "n" })
}

pub fn wake_partition(shard: u32) -> String {
    format!("wake#{shard}")
}

pub fn agent_partition(agent: &str, status: ConversationStatus) -> String {
    format!("{agent}#{}", status.as_str())
}

/// The conversation an index entry names: the end of its sort key.
pub fn id_of_entry(sort: &str) -> Option<ConversationId> {
    ConversationId::parse(sort.rsplit_once('#')?.1)
}

/// The keys a conversation in `state` has.
pub fn keys(id: &ConversationId, state: &State) -> Keys {
    let k = shard(id);
    let since = |at: DateTime<Utc>| format!("{}#{id}", ms13(at));
    let promise = state.live_promise();
    let status = match state.status {
        ConversationStatus::Open => Entry {
            partition: open_partition(state.priority == Priority::Urgent, promise.is_some(), k),
            sort: since(state.waiting_since.unwrap_or(state.status_since)),
        },
        ConversationStatus::Resolved => Entry {
            partition: resolved_partition(state.status_since.year(), state.status_since.month(), k),
            sort: since(state.status_since),
        },
        other => Entry {
            partition: status_partition(other, k),
            sort: since(state.status_since),
        },
    };
    let deadline = match (state.status, promise) {
        (ConversationStatus::Open, Some(p)) => Some(Entry {
            partition: promise_partition(state.priority == Priority::Urgent, k),
            sort: format!(
                "{}#{}#{id}",
                ms13(p),
                ms13(state.waiting_since.unwrap_or(state.status_since))
            ),
        }),
        (ConversationStatus::Snoozed, _) => Some(Entry {
            partition: wake_partition(k),
            sort: since(state.snooze_until.unwrap_or(DateTime::<Utc>::UNIX_EPOCH)),
        }),
        _ => None,
    };
    let agent = match (&state.assignee, state.status) {
        (Some(_), ConversationStatus::Resolved) | (None, _) => None,
        (Some(agent), s) => Some(Entry {
            partition: agent_partition(agent, s),
            sort: status.sort.clone(),
        }),
    };
    Keys {
        status,
        deadline,
        agent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{Event, apply};

    #[test]
    fn keys_follow_the_state() {
        let id = ConversationId::parse("wa-c5f3f83c27df8dca6b87267d9a591bcd").unwrap();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let open = apply(None, &Event::CustomerMessage { at }).unwrap();
        let k = keys(&id, &open);
        assert_eq!(k.status.partition, format!("open#n#w#{}", shard(&id)));
        assert_eq!(k.status.sort, format!("1800000000000#{id}"));
        assert_eq!((k.deadline, k.agent), (None, None));
        let promised = apply(
            Some(&open),
            &Event::Promised {
                reply_by: at + chrono::Duration::hours(3),
            },
        )
        .unwrap();
        let k = keys(&id, &promised);
        assert!(k.status.partition.starts_with("open#n#p#"));
        assert_eq!(
            k.deadline.unwrap().sort,
            format!("1800010800000#1800000000000#{id}")
        );
        let resolved = apply(
            Some(&promised),
            &Event::Changed {
                change: crate::lifecycle::StateChange {
                    status: Some(crate::lifecycle::StatusChange::Resolved),
                    assignee: Some(Some("alice".into())),
                    ..Default::default()
                },
                at,
            },
        )
        .unwrap();
        let k = keys(&id, &resolved);
        assert!(k.status.partition.starts_with("resolved#2027-01#"));
        assert_eq!((k.deadline, k.agent), (None, None));
    }
}
