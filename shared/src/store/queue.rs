//! The agents' queue, paged from the queue indexes (`lifecycle::keys`): a listing
//! merges the partitions of its status (`lifecycle::order::streams`), reading about a
//! page from each, then reads the page's conversations in one BatchGetItem. One
//! agent's queue is read from that agent's partition only; resolved conversations
//! month by month, newest first.

use super::dynamo::{DynamoStore, Item, unavailable};
use super::items::*;
use super::{StoreError, state};
use crate::conversation::{Conversation, ConversationId, ConversationStatus, Priority};
use crate::lifecycle::keys::{self, AGENT_INDEX, DEADLINE_INDEX, STATUS_INDEX};
use crate::lifecycle::merge::Merge;
use crate::lifecycle::order::{
    Order, Row, Source, Stream, compare, leading_ms, row_key, state_row, streams,
};
use crate::ports::{AssigneeFilter, QueuePage, QueueQuery, ReplyBy};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Datelike, Utc};
use std::collections::HashMap;

/// Resolved conversations are listed back this many months.
pub const RESOLVED_MONTHS_BACK: i32 = 36;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// The key attributes of an index.
fn key_attributes(index: &str) -> (&'static str, &'static str) {
    match index {
        STATUS_INDEX => (state::SQ, state::SQ_AT),
        DEADLINE_INDEX => (state::DL, state::DL_AT),
        _ => (state::AQ, state::AQ_AT),
    }
}

/// A filter expression with its names and values.
type Filter = (
    Option<String>,
    Vec<(&'static str, &'static str)>,
    Vec<(&'static str, AttributeValue)>,
);

/// A filter on the index entries (their projected attributes).
fn filter(q: &QueryFilter) -> Filter {
    let mut clauses = Vec::new();
    let mut names = Vec::new();
    let mut values = Vec::new();
    if let Some(ch) = &q.channel {
        clauses.push("#fch = :fch");
        names.push(("#fch", "channel"));
        values.push((":fch", s(ch.clone())));
    }
    match &q.assignee {
        AssigneeFilter::Any => {}
        AssigneeFilter::Unassigned => {
            clauses.push("attribute_not_exists(#fas)");
            names.push(("#fas", state::ASSIGNEE));
        }
        AssigneeFilter::Agent(a) => {
            clauses.push("#fas = :fas");
            names.push(("#fas", state::ASSIGNEE));
            values.push((":fas", s(a.clone())));
        }
    }
    match q.priority {
        Some(Priority::Urgent) => {
            clauses.push("#fpr = :fpr");
            names.push(("#fpr", state::PRIORITY));
            values.push((":fpr", s("urgent")));
        }
        Some(Priority::Normal) => {
            clauses.push("(attribute_not_exists(#fpr) OR #fpr = :fpr)");
            names.push(("#fpr", state::PRIORITY));
            values.push((":fpr", s("normal")));
        }
        None => {}
    }
    let expression = (!clauses.is_empty()).then(|| clauses.join(" AND "));
    (expression, names, values)
}

/// What the index entries are filtered on (what their partitions do not decide).
struct QueryFilter {
    channel: Option<String>,
    assignee: AssigneeFilter,
    priority: Option<Priority>,
}

impl DynamoStore {
    /// Up to `limit` entries of `stream` after `start`; the next start (`None`: the
    /// partition is read to its end).
    async fn read_stream(
        &self,
        stream: &Stream,
        start: Option<Item>,
        limit: usize,
        f: &QueryFilter,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let (pk, sk) = key_attributes(stream.index);
        let mut condition = "#p = :p".to_string();
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(stream.index)
            .expression_attribute_names("#p", pk)
            .expression_attribute_values(":p", s(&stream.partition))
            .scan_index_forward(!stream.descending)
            .limit(limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start);
        if let Some(after) = &stream.after {
            condition.push_str(if stream.descending {
                " AND #s < :a"
            } else {
                " AND #s > :a"
            });
            req = req
                .expression_attribute_names("#s", sk)
                .expression_attribute_values(":a", s(after));
        }
        let (expression, names, values) = filter(f);
        for (k, v) in names {
            req = req.expression_attribute_names(k, v);
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        let out = req
            .key_condition_expression(condition)
            .set_filter_expression(expression)
            .send()
            .await
            .map_err(unavailable)?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// Up to `want` rows of the merged `streams`, in `order`.
    async fn merged(
        &self,
        streams: Vec<Stream>,
        order: Order,
        want: usize,
        f: &QueryFilter,
        reply_by: ReplyBy<'_>,
    ) -> Result<Vec<Row>, StoreError> {
        let mut starts: Vec<Option<Item>> = vec![None; streams.len()];
        // A first read takes each partition's fair share of the page (twice it),
        // later reads a whole page: most pages come from few partitions.
        let first = (want * 2)
            .div_ceil(streams.len().max(1))
            .clamp(5, want.max(5));
        let mut read_before = vec![false; streams.len()];
        let mut merge = Merge::new(order, streams);
        let mut rows = Vec::new();
        while rows.len() < want {
            loop {
                let hungry = merge.hungry();
                if hungry.is_empty() {
                    break;
                }
                let reads = hungry.iter().map(|&i| {
                    let limit = if read_before[i] { want } else { first };
                    self.read_stream(&merge.streams()[i], starts[i].clone(), limit, f)
                });
                let results = futures_util::future::join_all(reads).await;
                for (i, result) in hungry.into_iter().zip(results) {
                    let (items, next) = result?;
                    let stream = merge.streams()[i].clone();
                    let (_, sk) = key_attributes(stream.index);
                    let read: Vec<Row> = items
                        .iter()
                        .filter_map(|item| item.get(sk)?.as_s().ok())
                        .filter_map(|entry| row_key(&stream, order, entry, reply_by))
                        .collect();
                    let done = next.is_none();
                    starts[i] = next;
                    read_before[i] = true;
                    merge.feed(i, read, done);
                }
            }
            match merge.pop() {
                Some(row) => rows.push(row),
                None => break,
            }
        }
        Ok(rows)
    }

    /// One agent's queue of a status (not resolved): that agent's partition, read
    /// whole and ordered here (an agent's work in progress is a person's worth).
    async fn agent_rows(
        &self,
        agent: &str,
        q: &QueryFilter,
        query: &QueueQuery,
        reply_by: ReplyBy<'_>,
    ) -> Result<Vec<Row>, StoreError> {
        let stream = Stream {
            index: AGENT_INDEX,
            partition: keys::agent_partition(agent, query.status),
            source: Source::Status,
            class: 0,
            descending: false,
            after: None,
        };
        let mut start = None;
        let mut rows = Vec::new();
        loop {
            let (items, next) = self.read_stream(&stream, start, 1000, q).await?;
            for item in &items {
                let id = item
                    .get(state::AQ_AT)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|s| state::id_of_entry(s));
                if let (Some(id), Some((st, _))) = (id, state::read(item))
                    && query.priority.is_none_or(|p| st.priority == p)
                {
                    rows.push(state_row(&id, &st, query.order, reply_by));
                }
            }
            match next {
                Some(n) => start = Some(n),
                None => break,
            }
        }
        let descending = query.order == Order::Recent;
        if let Some(c) = &query.cursor {
            rows.retain(|r| !c.passed(r, descending));
        }
        rows.sort_by(|a, b| compare(query.order, &a.key, &b.key));
        rows.truncate(query.limit as usize + 1);
        Ok(rows)
    }

    /// Resolved conversations, the most recently resolved first, month by month.
    async fn resolved_rows(
        &self,
        q: &QueryFilter,
        query: &QueueQuery,
        want: usize,
        now: DateTime<Utc>,
        reply_by: ReplyBy<'_>,
    ) -> Result<Vec<Row>, StoreError> {
        let after = query.cursor.as_ref().and_then(|c| c.status_after.clone());
        let start = after
            .as_deref()
            .and_then(leading_ms)
            .and_then(DateTime::from_timestamp_millis)
            .map_or(now, |t| t.min(now));
        let (mut year, mut month) = (start.year(), start.month());
        let mut rows = Vec::new();
        for back in 0..=RESOLVED_MONTHS_BACK {
            if back > 0 {
                (year, month) = if month == 1 {
                    (year - 1, 12)
                } else {
                    (year, month - 1)
                };
            }
            let streams = (0..keys::SHARDS)
                .map(|shard| Stream {
                    index: STATUS_INDEX,
                    partition: keys::resolved_partition(year, month, shard),
                    source: Source::Status,
                    class: 0,
                    descending: true,
                    after: after.clone().filter(|_| back == 0),
                })
                .collect();
            let need = want - rows.len();
            rows.extend(
                self.merged(streams, Order::Recent, need, q, reply_by)
                    .await?,
            );
            if rows.len() >= want {
                break;
            }
        }
        Ok(rows)
    }

    pub(super) async fn queue(
        &self,
        query: &QueueQuery,
        reply_by: ReplyBy<'_>,
        now: DateTime<Utc>,
    ) -> Result<QueuePage, StoreError> {
        let limit = query.limit.clamp(1, 100) as usize;
        let want = limit + 1;
        let resolved = query.status == ConversationStatus::Resolved;
        let mut f = QueryFilter {
            channel: query.channel.map(|c| c.as_str().to_string()),
            assignee: query.assignee.clone(),
            // Open partitions are split by urgency: the listing picks them.
            priority: query
                .priority
                .filter(|_| query.status != ConversationStatus::Open),
        };
        let mut rows = match (&query.assignee, resolved) {
            (AssigneeFilter::Agent(agent), false) => {
                // The partition is the agent's; urgency is filtered on the state read.
                f.assignee = AssigneeFilter::Any;
                f.priority = None;
                self.agent_rows(agent, &f, query, reply_by).await?
            }
            (_, true) => self.resolved_rows(&f, query, want, now, reply_by).await?,
            _ => {
                let order = query.order;
                let priority = query.priority.filter(|_| !resolved);
                let streams = streams(query.status, order, priority, query.cursor.as_ref());
                self.merged(streams, order, want, &f, reply_by).await?
            }
        };
        let more = rows.len() > limit;
        rows.truncate(limit);
        let mut cursor = query.cursor.clone().unwrap_or_default();
        for row in &rows {
            cursor.advance(row);
        }
        let ids: Vec<ConversationId> = rows.iter().filter_map(|r| r.key.id()).collect();
        let conversations = self
            .conversations_in_order(&ids)
            .await?
            .into_iter()
            // The indexes are eventually consistent: a row that has moved on since
            // is left out rather than shown under a status it no longer has.
            .filter(|c| c.status == query.status)
            .collect();
        Ok(QueuePage {
            conversations,
            next: more.then_some(cursor),
        })
    }

    /// The conversations of `ids`, in that order (those that exist).
    async fn conversations_in_order(
        &self,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Item> = ids.iter().map(conversation_key).collect();
        let mut by_id: HashMap<String, Conversation> = HashMap::new();
        for chunk in keys.chunks(100) {
            let items = self.batch_get(chunk.to_vec(), None, &[]).await?;
            for item in items {
                let c = Conversation::from(from_item::<_, ConversationItem>(item)?);
                by_id.insert(c.id.to_string(), c);
            }
        }
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(id.as_str()))
            .collect())
    }
}
