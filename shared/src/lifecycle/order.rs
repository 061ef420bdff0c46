//! The queue's orders as keys over the index entries of `keys`, and which index
//! partitions a listing reads. Every order is total: a cursor is the last row's key,
//! and each partition goes on strictly after it.
//!
//! `due` (open only): urgent first, then the reply-by (the promise that holds, else
//! the business-minute deadline from the wait's start), then the wait's start, then
//! the id. A wait's deadline never comes before an earlier wait's (more open time
//! is counted from a later start: `reply_by` is monotone, checked in `props`), so a
//! partition sorted by the wait's start is sorted by deadline too, whatever the
//! business hours are: changing `BUSINESS_HOURS` needs no re-rank of stored keys.
//! Promises are their own partitions, sorted by the promise. A listing merges them.
//!
//! `waiting`: the wait's start (open) or the status's (pending, snoozed), oldest
//! first. `recent`: the same, newest first (resolved: the most recently resolved).

use super::State;
use super::keys::{self, DEADLINE_INDEX, STATUS_INDEX};
use crate::conversation::{ConversationId, ConversationStatus, Priority};
use chrono::{DateTime, Utc};
use std::cmp::Ordering;

/// The queue's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Due,
    Waiting,
    Recent,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Due => "due",
            Order::Waiting => "waiting",
            Order::Recent => "recent",
        }
    }
}

/// A row's place in a listing: `class` (due: 0 urgent, 1 normal), `due` (epoch ms;
/// 0 in the other orders) and `sort` (the status index's sort key: `<ms>#<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowKey {
    pub class: u8,
    pub due: i64,
    pub sort: String,
}

impl RowKey {
    /// The conversation id at the end of the sort key.
    pub fn id(&self) -> Option<ConversationId> {
        keys::id_of_entry(&self.sort)
    }
}

/// How `a` and `b` compare in `order` (`Less`: `a` is listed first).
pub fn compare(order: Order, a: &RowKey, b: &RowKey) -> Ordering {
    match order {
        Order::Recent => (a.class, a.due, &b.sort).cmp(&(b.class, b.due, &a.sort)),
        _ => (a.class, a.due, &a.sort).cmp(&(b.class, b.due, &b.sort)),
    }
}

/// A listed row: its key, and its entry in the partition it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: RowKey,
    pub source: Source,
    /// The entry's sort key in its index.
    pub entry: String,
}

/// Where a listing goes on: the class it is in and, in that class, the last entry
/// listed of each kind of partition. (A promise can come before the wait it answered
/// began, so one row's key does not tell where each partition stands.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    pub class: u8,
    pub status_after: Option<String>,
    pub promise_after: Option<String>,
}

impl Cursor {
    /// The cursor after `row` was listed.
    pub fn advance(&mut self, row: &Row) {
        if row.key.class != self.class {
            *self = Cursor {
                class: row.key.class,
                ..Cursor::default()
            };
        }
        match row.source {
            Source::Status => self.status_after = Some(row.entry.clone()),
            Source::Promise => self.promise_after = Some(row.entry.clone()),
        }
    }

    /// Whether `row` was listed before this cursor (`descending`: newest first).
    pub fn passed(&self, row: &Row, descending: bool) -> bool {
        if row.key.class != self.class {
            return row.key.class < self.class;
        }
        let after = match row.source {
            Source::Status => &self.status_after,
            Source::Promise => &self.promise_after,
        };
        after.as_ref().is_some_and(|a| {
            if descending {
                row.entry >= *a
            } else {
                row.entry <= *a
            }
        })
    }
}

/// The epoch ms at the start of a sort key (`<13 digits>#...`).
pub fn leading_ms(sort: &str) -> Option<i64> {
    sort.get(..13)?.parse().ok()
}

/// The deadline of a wait that started at `wait` with no promise: `reply_by`, or
/// (beyond the schedule's horizon) the end of time.
fn deadline(wait: DateTime<Utc>, reply_by: &dyn Fn(DateTime<Utc>) -> Option<DateTime<Utc>>) -> i64 {
    reply_by(wait).map_or(9_999_999_999_999, |d| d.timestamp_millis())
}

/// Where a partition's entries come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `by_status`: the sort key is the row's `sort`.
    Status,
    /// `by_deadline` promises: `<promise ms>#<row's sort>`.
    Promise,
}

/// One partition a listing reads, in its order, strictly after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub index: &'static str,
    pub partition: String,
    pub source: Source,
    pub class: u8,
    pub descending: bool,
    /// Exclusive bound on the sort key (a cursor's place).
    pub after: Option<String>,
}

/// The row of an index entry read from `stream`.
pub fn row_key(
    stream: &Stream,
    order: Order,
    index_sort: &str,
    reply_by: &dyn Fn(DateTime<Utc>) -> Option<DateTime<Utc>>,
) -> Option<Row> {
    let key = match (stream.source, order) {
        (Source::Status, Order::Due) => {
            let wait = DateTime::from_timestamp_millis(leading_ms(index_sort)?)?;
            RowKey {
                class: stream.class,
                due: deadline(wait, reply_by),
                sort: index_sort.to_string(),
            }
        }
        (Source::Status, _) => RowKey {
            class: stream.class,
            due: 0,
            sort: index_sort.to_string(),
        },
        (Source::Promise, _) => {
            let (promise, sort) = index_sort.split_once('#')?;
            RowKey {
                class: stream.class,
                due: promise.parse().ok()?,
                sort: sort.to_string(),
            }
        }
    };
    Some(Row {
        key,
        source: stream.source,
        entry: index_sort.to_string(),
    })
}

/// The row of a conversation in `state` (listings read whole, e.g. one agent's).
pub fn state_row(
    id: &ConversationId,
    state: &State,
    order: Order,
    reply_by: &dyn Fn(DateTime<Utc>) -> Option<DateTime<Utc>>,
) -> Row {
    let k = keys::keys(id, state);
    let sort = k.status.sort;
    match (order, state.live_promise(), k.deadline) {
        (Order::Due, Some(p), Some(entry)) => Row {
            key: RowKey {
                class: u8::from(state.priority != Priority::Urgent),
                due: p.timestamp_millis(),
                sort,
            },
            source: Source::Promise,
            entry: entry.sort,
        },
        (Order::Due, _, _) => Row {
            key: RowKey {
                class: u8::from(state.priority != Priority::Urgent),
                due: deadline(state.waiting_since.unwrap_or(state.status_since), reply_by),
                sort: sort.clone(),
            },
            source: Source::Status,
            entry: sort,
        },
        _ => Row {
            key: RowKey {
                class: 0,
                due: 0,
                sort: sort.clone(),
            },
            source: Source::Status,
            entry: sort,
        },
    }
}

/// The partitions of `status` (not resolved) that a listing in `order` merges, each
/// going on after `cursor`. `priority` keeps one urgency (the others are not read).
pub fn streams(
    status: ConversationStatus,
    order: Order,
    priority: Option<Priority>,
    cursor: Option<&Cursor>,
) -> Vec<Stream> {
    let mut out = Vec::new();
    let descending = order == Order::Recent;
    // A class before the cursor's is listed already: its partitions are not read.
    let listed = |class: u8| cursor.is_some_and(|c| class < c.class);
    let bound = |class: u8, source: Source| -> Option<String> {
        let c = cursor.filter(|c| c.class == class)?;
        match source {
            Source::Promise => c.promise_after.clone(),
            Source::Status => c.status_after.clone(),
        }
    };
    for shard in 0..keys::SHARDS {
        if status != ConversationStatus::Open {
            out.push(Stream {
                index: STATUS_INDEX,
                partition: keys::status_partition(status, shard),
                source: Source::Status,
                class: 0,
                descending,
                after: bound(0, Source::Status),
            });
            continue;
        }
        for urgent in [true, false] {
            if priority.is_some_and(|p| (p == Priority::Urgent) != urgent) {
                continue;
            }
            let class = if order == Order::Due {
                u8::from(!urgent)
            } else {
                0
            };
            if listed(class) {
                continue;
            }
            out.push(Stream {
                index: STATUS_INDEX,
                partition: keys::open_partition(urgent, false, shard),
                source: Source::Status,
                class,
                descending,
                after: bound(class, Source::Status),
            });
            // Promises: by the promise for `due`, by the wait's start otherwise.
            let (index, partition, source) = if order == Order::Due {
                (
                    DEADLINE_INDEX,
                    keys::promise_partition(urgent, shard),
                    Source::Promise,
                )
            } else {
                (
                    STATUS_INDEX,
                    keys::open_partition(urgent, true, shard),
                    Source::Status,
                )
            };
            out.push(Stream {
                index,
                partition,
                source,
                class,
                descending,
                after: bound(class, source),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(class: u8, due: i64, sort: &str) -> RowKey {
        RowKey {
            class,
            due,
            sort: sort.into(),
        }
    }

    #[test]
    fn recent_is_newest_first_and_due_is_urgent_first() {
        let (a, b) = (key(0, 0, "1#a"), key(0, 0, "2#b"));
        assert_eq!(compare(Order::Waiting, &a, &b), Ordering::Less);
        assert_eq!(compare(Order::Recent, &a, &b), Ordering::Greater);
        assert_eq!(
            compare(Order::Due, &key(0, 99, "9#z"), &key(1, 1, "1#a")),
            Ordering::Less
        );
    }

    #[test]
    fn a_cursor_skips_classes_already_listed() {
        let cursor = Cursor {
            class: 1,
            status_after: Some("0000000000005#wa-x".into()),
            promise_after: None,
        };
        let s = streams(ConversationStatus::Open, Order::Due, None, Some(&cursor));
        assert_eq!(s.len() as u32, 2 * keys::SHARDS);
        for stream in &s {
            match (stream.class, stream.source) {
                (0, _) => panic!("the urgent class is listed already"),
                (_, Source::Promise) => assert_eq!(stream.after, None),
                _ => assert_eq!(stream.after.as_deref(), Some("0000000000005#wa-x")),
            }
        }
    }
}
