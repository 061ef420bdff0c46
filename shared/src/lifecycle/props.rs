//! Property tests of the lifecycle: random histories of random conversations, their
//! index entries put in an in-memory index, and every listing paged through the
//! partitions it merges, compared with a brute-force sort of all conversations.

use super::keys::{self, DEADLINE_INDEX, STATUS_INDEX};
use super::merge::Merge;
use super::order::{Cursor, Order, RowKey, Stream, compare, row_key, state_row, streams};
use super::{Event, State, StateChange, StatusChange, apply};
use crate::conversation::{ConversationId, ConversationStatus, Priority};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
}

/// A deadline with long flat stretches (many waits share one), like a closed night.
fn reply_by(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let m = (at - t(0)).num_minutes();
    Some(t((m.div_euclid(600) + 1) * 600 + 60))
}

fn event() -> impl Strategy<Value = Event> {
    let at = (0i64..3000).prop_map(t);
    prop_oneof![
        at.clone().prop_map(|at| Event::CustomerMessage { at }),
        at.clone().prop_map(|at| Event::QuietMessage { at }),
        at.clone().prop_map(|at| Event::Answered { at }),
        at.clone().prop_map(|reply_by| Event::Promised { reply_by }),
        at.clone().prop_map(|at| Event::Wake { at }),
        at.clone().prop_map(|at| Event::DeliveryFailed { at }),
        (at.clone(), at.clone(), 0u8..8, 0u8..4, 0u8..3).prop_map(|(at, until, s, a, p)| {
            Event::Changed {
                change: StateChange {
                    status: match s {
                        0 => Some(StatusChange::Open),
                        1 => Some(StatusChange::Resolved),
                        2 => Some(StatusChange::Snoozed { until }),
                        _ => None,
                    },
                    assignee: match a {
                        0 => Some(None),
                        1 => Some(Some("alice".into())),
                        2 => Some(Some("bob".into())),
                        _ => None,
                    },
                    priority: match p {
                        0 => Some(Priority::Urgent),
                        1 => Some(Priority::Normal),
                        _ => None,
                    },
                },
                at,
            }
        }),
    ]
}

/// Conversations: an id and the state after a history (those that exist).
fn conversations() -> impl Strategy<Value = Vec<(ConversationId, State)>> {
    prop::collection::vec((any::<u128>(), prop::collection::vec(event(), 1..7)), 0..60).prop_map(
        |cs| {
            let mut seen = BTreeSet::new();
            cs.into_iter()
                .filter(|(n, _)| seen.insert(*n))
                .filter_map(|(n, events)| {
                    let id = ConversationId::parse(&format!("wa-{n:032x}"))?;
                    let mut state: Option<State> = None;
                    for e in events {
                        if let Some(next) = apply(state.as_ref(), &e) {
                            state = Some(next);
                        }
                    }
                    Some((id, state?))
                })
                .collect()
        },
    )
}

type Index = BTreeMap<(&'static str, String), BTreeSet<String>>;

fn index(cs: &[(ConversationId, State)]) -> Index {
    let mut idx = Index::new();
    for (id, s) in cs {
        let k = keys::keys(id, s);
        let mut put = |index: &'static str, e: keys::Entry| {
            idx.entry((index, e.partition)).or_default().insert(e.sort);
        };
        put(STATUS_INDEX, k.status);
        if let Some(d) = k.deadline {
            put(DEADLINE_INDEX, d);
        }
        if let Some(a) = k.agent {
            put(keys::AGENT_INDEX, a);
        }
    }
    idx
}

/// A partition's entries after the stream's bound, in its order.
fn entries(idx: &Index, s: &Stream) -> Vec<String> {
    let all = idx
        .get(&(s.index, s.partition.clone()))
        .cloned()
        .unwrap_or_default();
    let mut v: Vec<String> = all
        .into_iter()
        .filter(|e| match (&s.after, s.descending) {
            (None, _) => true,
            (Some(a), false) => e > a,
            (Some(a), true) => e < a,
        })
        .collect();
    if s.descending {
        v.reverse();
    }
    v
}

/// Pages through a listing as the store does, `limit` rows a page, partitions fed
/// `chunk` entries at a time.
fn page_through(
    idx: &Index,
    status: ConversationStatus,
    order: Order,
    priority: Option<Priority>,
    limit: usize,
    chunk: usize,
) -> Vec<RowKey> {
    let mut listed = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..1000 {
        let mut merge = Merge::new(order, streams(status, order, priority, cursor.as_ref()));
        let mut fed = vec![0usize; merge.streams().len()];
        let mut page = Vec::new();
        while page.len() <= limit {
            for i in merge.hungry() {
                let s = merge.streams()[i].clone();
                let all = entries(idx, &s);
                let rows: Vec<_> = all
                    .iter()
                    .skip(fed[i])
                    .take(chunk)
                    .map(|e| row_key(&s, order, e, &reply_by).unwrap())
                    .collect();
                fed[i] += rows.len();
                merge.feed(i, rows, fed[i] >= all.len());
            }
            match merge.pop() {
                Some(row) => page.push(row),
                None => break,
            }
        }
        let more = page.len() > limit;
        page.truncate(limit);
        let mut c = cursor.take().unwrap_or_default();
        for row in &page {
            c.advance(row);
        }
        cursor = Some(c);
        listed.extend(page.into_iter().map(|r| r.key));
        if !more {
            return listed;
        }
    }
    panic!("a listing that never ends");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// A customer message to an open conversation changes nothing of its lifecycle,
    /// so the store may write it without reading first.
    #[test]
    fn a_message_to_an_open_conversation_changes_no_state(cs in conversations(), at in 0i64..4000) {
        for (_, s) in cs.iter().filter(|(_, s)| s.status == ConversationStatus::Open) {
            prop_assert_eq!(apply(Some(s), &Event::CustomerMessage { at: t(at) }), None);
        }
    }

    #[test]
    fn index_entries_follow_the_state(cs in conversations()) {
        for (id, s) in &cs {
            let k = keys::keys(id, s);
            let promised = s.live_promise().is_some();
            prop_assert_eq!(
                k.deadline.is_some(),
                promised || s.status == ConversationStatus::Snoozed
            );
            prop_assert_eq!(
                k.agent.is_some(),
                s.assignee.is_some() && s.status != ConversationStatus::Resolved
            );
            prop_assert!(k.status.partition.starts_with(s.status.as_str()));
            prop_assert!(k.status.sort.ends_with(id.as_str()));
        }
    }

    /// Every listing, paged from the partitions, is the brute-force order of all
    /// conversations of its status: each once, none missing.
    #[test]
    fn listings_paged_from_the_index_match_a_full_sort(
        cs in conversations(),
        limit in 1usize..7,
        chunk in 1usize..5,
    ) {
        let idx = index(&cs);
        let cases = [
            (ConversationStatus::Open, Order::Due, None),
            (ConversationStatus::Open, Order::Due, Some(Priority::Urgent)),
            (ConversationStatus::Open, Order::Due, Some(Priority::Normal)),
            (ConversationStatus::Open, Order::Waiting, None),
            (ConversationStatus::Open, Order::Recent, None),
            (ConversationStatus::Pending, Order::Waiting, None),
            (ConversationStatus::Pending, Order::Recent, None),
            (ConversationStatus::Snoozed, Order::Recent, None),
        ];
        for (status, order, priority) in cases {
            let listed = page_through(&idx, status, order, priority, limit, chunk);
            let mut expected: Vec<_> = cs
                .iter()
                .filter(|(_, s)| s.status == status && priority.is_none_or(|p| s.priority == p))
                .map(|(id, s)| state_row(id, s, order, &reply_by))
                .collect();
            expected.sort_by(|a, b| compare(order, &a.key, &b.key));
            // A listing read whole (one agent's) skips what a cursor passed the same way.
            let mut c = Cursor::default();
            for row in expected.iter().take(limit) {
                c.advance(row);
            }
            let rest: Vec<RowKey> = expected
                .iter()
                .filter(|r| !c.passed(r, order == Order::Recent))
                .map(|r| r.key.clone())
                .collect();
            let expected: Vec<RowKey> = expected.into_iter().map(|r| r.key).collect();
            prop_assert_eq!(&rest[..], &expected[expected.len().min(limit)..]);
            prop_assert_eq!(&listed, &expected, "{:?} {:?} {:?}", status, order, priority);
        }
    }
}
