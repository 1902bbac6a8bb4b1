//! The event queue: events ordered by time, ties broken by insertion order.
//!
//! Invariant: two events scheduled for the same time run in the order they were scheduled, so the
//! run order depends only on the sequence of `push` calls, never on the heap's internals.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::node::Time;

struct Entry<E> {
    at: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, so the max-heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A min-queue of events by (time, insertion sequence).
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    pub fn push(&mut self, at: Time, event: E) {
        self.heap.push(Entry {
            at,
            seq: self.seq,
            event,
        });
        self.seq += 1;
    }

    /// The earliest event if it is due at or before `until`.
    pub fn pop_until(&mut self, until: Time) -> Option<(Time, E)> {
        if self.heap.peek()?.at > until {
            return None;
        }
        self.heap.pop().map(|e| (e.at, e.event))
    }

    /// The earliest event if it is due exactly at `at` and `wanted` accepts it.
    pub fn pop_at_if(&mut self, at: Time, wanted: impl FnOnce(&E) -> bool) -> Option<E> {
        let next = self.heap.peek()?;
        if next.at != at || !wanted(&next.event) {
            return None;
        }
        self.heap.pop().map(|e| e.event)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_insertion_order() {
        let mut q = EventQueue::default();
        q.push(5, "c");
        q.push(1, "a");
        q.push(5, "d");
        q.push(1, "b");
        q.push(9, "e");
        let mut out = Vec::new();
        while let Some((t, e)) = q.pop_until(6) {
            out.push((t, e));
        }
        assert_eq!(out, vec![(1, "a"), (1, "b"), (5, "c"), (5, "d")]);
        assert_eq!(q.len(), 1);
    }
}
