//! Merges the partitions of a listing (`order::streams`) into one page, without I/O:
//! the store feeds each partition's next entries when asked, and takes rows out in
//! the listing's order. Each partition is read in its own order, a page at a time,
//! so a listing reads about a page per partition, whatever the queue's size.

use super::order::{Order, Row, Stream, compare};
use std::collections::VecDeque;

pub struct Merge {
    order: Order,
    streams: Vec<Stream>,
    buffers: Vec<VecDeque<Row>>,
    exhausted: Vec<bool>,
}

impl Merge {
    pub fn new(order: Order, streams: Vec<Stream>) -> Merge {
        let n = streams.len();
        Merge {
            order,
            streams,
            buffers: vec![VecDeque::new(); n],
            exhausted: vec![false; n],
        }
    }

    pub fn streams(&self) -> &[Stream] {
        &self.streams
    }

    /// The partitions to read more of before `pop` can answer.
    pub fn hungry(&self) -> Vec<usize> {
        (0..self.streams.len())
            .filter(|&i| self.buffers[i].is_empty() && !self.exhausted[i])
            .collect()
    }

    /// The next entries of partition `i`, in its order; `exhausted` when it has no more.
    pub fn feed(&mut self, i: usize, rows: Vec<Row>, exhausted: bool) {
        self.buffers[i].extend(rows);
        self.exhausted[i] = exhausted;
    }

    /// The next row of the listing; call only when nothing is `hungry`.
    pub fn pop(&mut self) -> Option<Row> {
        debug_assert!(self.hungry().is_empty());
        let best = (0..self.buffers.len())
            .filter_map(|i| self.buffers[i].front().map(|k| (i, k)))
            .min_by(|a, b| compare(self.order, &a.1.key, &b.1.key))
            .map(|(i, _)| i)?;
        self.buffers[best].pop_front()
    }
}
