//! Round robin: each endpoint in turn, from one shared atomic counter.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Hands out `k, k+1, …, n-1, 0, 1, …` modulo a fixed `n`.
///
/// One `fetch_add` per pick, O(1) and lock-free. The start `k` is random, so gateway
/// replicas that rebuild their sets at the same moment do not all hit the first
/// endpoint together. Also used by `least_conn` and `health_based` to rotate ties.
#[derive(Debug)]
pub(crate) struct RoundRobin {
    next: AtomicUsize,
}

impl RoundRobin {
    /// A rotation over `n` slots starting at a random one.
    pub(crate) fn new(n: usize) -> Self {
        Self::starting_at(if n == 0 { 0 } else { fastrand::usize(..n) })
    }

    /// A rotation whose first pick is `start` (deterministic, for tests).
    pub(crate) fn starting_at(start: usize) -> Self {
        Self {
            next: AtomicUsize::new(start),
        }
    }

    /// The next slot in `0..n`; `n` must not be zero.
    ///
    /// Relaxed ordering is enough: the counter publishes no other memory, and two
    /// threads can never read the same value from one `fetch_add`.
    pub(crate) fn pick(&self, n: usize) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_every_slot_evenly() {
        let rr = RoundRobin::new(5);
        let mut counts = [0; 5];
        for _ in 0..5 * 100 {
            counts[rr.pick(5)] += 1;
        }
        assert_eq!(counts, [100; 5]);
    }

    #[test]
    fn rotates_in_order_from_the_start() {
        let rr = RoundRobin::starting_at(2);
        let picks: Vec<_> = (0..4).map(|_| rr.pick(3)).collect();
        assert_eq!(picks, [2, 0, 1, 2]);
    }
}
