//! Weighted: smooth weighted round robin in amortised O(log n) per pick.
//!
//! # The guarantee (nginx's, kept)
//!
//! nginx's smooth weighted round robin gives each endpoint `i` of weight `w_i` (total
//! `W`) exactly `w_i` of every `W` consecutive picks from the start, and interleaves them:
//! weights 5/1/1 give `a a b a c a a`, never `a a a a a b c`. Its cost is one pass over
//! all endpoints per pick, O(n).
//!
//! This module runs WF²Q (Bennett and Zhang's "worst-case fair weighted fair queueing",
//! 1996) on an always-backlogged set with unit-size requests, which is the same problem
//! nginx solves. Let `t` be the number of picks so far and `p_i` endpoint `i`'s share of
//! them. In the ideal fluid schedule endpoint `i` has received `t·w_i/W` picks. Endpoint
//! `i`'s next pick *starts* at virtual time `S_i = p_i/w_i` and *finishes* at
//! `F_i = (p_i+1)/w_i`; it is *eligible* once `S_i <= t/W`, that is, once it is not
//! ahead of its fluid share. Each pick takes the eligible endpoint with the earliest
//! finish (ties to the lowest index, like nginx).
//!
//! * **Proportion**: WF²Q keeps every endpoint within one pick of its fluid share at every
//!   prefix, `|p_i - t·w_i/W| < 1`, as nginx does; so after every `W` picks each endpoint
//!   has exactly `w_i`, and the schedule repeats with period `W`.
//! * **Smoothness**: an endpoint is never picked more than `ceil(w_i/(W-w_i)) + 1` times in
//!   a row, and its longest run is never longer than nginx's for the same weights (both
//!   checked in the tests against a reference nginx implementation). The sequence itself
//!   may differ from nginx's: for 5/1/1 it is `a b a a c a a`.
//!
//! # The bound
//!
//! Endpoints sit in one of two binary heaps: *pending* (not yet eligible, keyed by start)
//! and *eligible* (keyed by finish). A pick moves the pending endpoints whose start has
//! come into the eligible heap, pops the earliest finish and pushes that endpoint back:
//! each endpoint moves once per pick of itself, so a pick costs O(log n) amortised. One
//! pick may move a batch (with `n` equal weights, all `n` become eligible together once
//! per `n` picks), which is the only super-logarithmic step; it is still amortised
//! O(log n). At least one endpoint is always eligible: if every `S_i > t/W` then summing
//! `p_i > t·w_i/W` over `i` gives `t > t`.
//!
//! The state sits behind a `parking_lot::Mutex` held only for that pop and push.
//! Arithmetic is exact (integers, cross-multiplied in `u128`), so no float drift or
//! rounding ties appear however long the set lives.

use std::{
    cmp::Ordering,
    collections::{BinaryHeap, binary_heap::PeekMut},
};

use parking_lot::Mutex;

/// The smooth weighted scheduler of one endpoint set.
#[derive(Debug)]
pub(crate) struct Weighted {
    /// `W`, the sum of all weights.
    total: u64,
    schedule: Mutex<Schedule>,
}

#[derive(Debug)]
struct Schedule {
    /// `t`, picks so far.
    picks: u64,
    /// Endpoints ahead of their share, earliest start first.
    pending: BinaryHeap<ByStart>,
    /// Endpoints at or behind their share, earliest finish first.
    eligible: BinaryHeap<ByFinish>,
}

/// One endpoint's place in the schedule.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// `p_i`, picks of this endpoint so far.
    picks: u64,
    /// `w_i`, never zero.
    weight: u64,
    index: usize,
}

impl Weighted {
    /// A scheduler for endpoints with these weights (each at least 1), in index order.
    pub(crate) fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let slots: Vec<ByFinish> = weights
            .into_iter()
            .enumerate()
            .map(|(index, w)| {
                ByFinish(Slot {
                    picks: 0,
                    weight: u64::from(w.max(1)),
                    index,
                })
            })
            .collect();
        let total = slots.iter().map(|s| s.0.weight).sum();
        Self {
            total,
            schedule: Mutex::new(Schedule {
                picks: 0,
                pending: BinaryHeap::new(),
                // Every start is 0 <= 0/W: all eligible. `From<Vec>` heapifies in O(n).
                eligible: BinaryHeap::from(slots),
            }),
        }
    }

    /// The index of the next endpoint. The set must not be empty.
    pub(crate) fn pick(&self) -> usize {
        let total = self.total;
        let mut guard = self.schedule.lock();
        let s = &mut *guard;
        while let Some(top) = s.pending.peek_mut()
            && top.0.is_eligible(s.picks, total)
        {
            let slot = PeekMut::pop(top).0;
            s.eligible.push(ByFinish(slot));
        }
        let Some(ByFinish(mut slot)) = s.eligible.pop() else {
            // Unreachable for a non-empty set: one endpoint is always eligible (see the
            // module docs). Answer something valid rather than panic.
            return 0;
        };
        slot.picks += 1;
        s.picks += 1;
        let index = slot.index;
        if slot.is_eligible(s.picks, total) {
            s.eligible.push(ByFinish(slot));
        } else {
            s.pending.push(ByStart(slot));
        }
        index
    }
}

// === impl Slot ===

impl Slot {
    /// `S_i <= t/W`, i.e. `p_i·W <= t·w_i`.
    fn is_eligible(&self, picks: u64, total: u64) -> bool {
        u128::from(self.picks) * u128::from(total) <= u128::from(picks) * u128::from(self.weight)
    }

    /// Compares `S_a = p_a/w_a` with `S_b`, then indices.
    fn cmp_start(&self, other: &Self) -> Ordering {
        cmp_ratio(self.picks, self.weight, other.picks, other.weight)
            .then(self.index.cmp(&other.index))
    }

    /// Compares `F_a = (p_a+1)/w_a` with `F_b`, then indices.
    fn cmp_finish(&self, other: &Self) -> Ordering {
        cmp_ratio(self.picks + 1, self.weight, other.picks + 1, other.weight)
            .then(self.index.cmp(&other.index))
    }
}

/// Compares `a/b` with `c/d` exactly (`b`, `d` > 0).
fn cmp_ratio(a: u64, b: u64, c: u64, d: u64) -> Ordering {
    (u128::from(a) * u128::from(d)).cmp(&(u128::from(c) * u128::from(b)))
}

/// Heap entry ordered so that `BinaryHeap` (a max-heap) pops the earliest start.
#[derive(Debug)]
struct ByStart(Slot);

/// Heap entry ordered so that `BinaryHeap` pops the earliest finish.
#[derive(Debug)]
struct ByFinish(Slot);

impl Ord for ByStart {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.cmp_start(&self.0)
    }
}

impl PartialOrd for ByStart {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ByStart {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByStart {}

impl Ord for ByFinish {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.cmp_finish(&self.0)
    }
}

impl PartialOrd for ByFinish {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ByFinish {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByFinish {}

#[cfg(test)]
mod tests;
