//! Least connections: the endpoint with the fewest requests in flight, plus the
//! [`InFlightCounter`] and its [`InFlight`] RAII guard that count them.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use crate::round_robin::RoundRobin;

/// Up to this many endpoints, least connections scans them all for the exact minimum.
pub(crate) const EXACT_SCAN_MAX: usize = 16;

/// A shared count of the requests in flight to one instance.
///
/// A cheap handle (an `Arc<AtomicUsize>`): clones count the same requests. Keep one per
/// instance across rebuilds and hand it to every new set with
/// [`Endpoint::with_counter`](crate::Endpoint::with_counter), so the counts survive a
/// rebuild; an endpoint built without one starts from a fresh counter at zero.
#[derive(Debug, Clone, Default)]
pub struct InFlightCounter(Arc<AtomicUsize>);

impl InFlightCounter {
    /// A new counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of live [`InFlight`] guards of this counter (a racy snapshot).
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one request until the returned guard is dropped.
    #[must_use = "the request is counted only while the guard is alive"]
    pub fn enter(&self) -> InFlight {
        self.0.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(&self.0))
    }
}

/// One request in flight: increments its counter when created, decrements when dropped.
///
/// Owns its counter, so it may outlive the `Balancer` it came from (a rebuild mid-request
/// is fine) and move into a spawned task.
#[derive(Debug)]
#[must_use = "the request is counted only while the guard is alive"]
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        // Relaxed: the count is a load hint and orders no other memory.
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Picks the least loaded endpoint.
///
/// * `n <= 16`: reads every counter and takes the exact minimum, O(n) with n bounded by
///   16, so O(1). Ties go to the tied endpoints in turn (a shared rotation picks the
///   k-th of them), so equal load still spreads instead of the first one taking all.
/// * `n > 16`: "power of two random choices": two distinct endpoints at random, the less
///   loaded wins. O(1) whatever `n` is, and what Envoy's `LEAST_REQUEST` does by default.
///   Mitzenmacher showed the maximum load then exceeds the average by O(log log n)
///   instead of O(log n / log log n) for one random choice, and, unlike a full scan,
///   gateway replicas reading stale counts do not all pile onto the same idle endpoint.
///
/// Weights are ignored: pick `Weighted` for unequal capacities.
#[derive(Debug)]
pub(crate) struct LeastConn {
    rotation: RoundRobin,
}

impl LeastConn {
    /// A picker for a set of `n` endpoints.
    pub(crate) fn new(n: usize) -> Self {
        Self {
            rotation: RoundRobin::new(n),
        }
    }

    /// The index of the least loaded of `n` endpoints (`n >= 1`), where `load(i)` reads
    /// endpoint `i`'s in-flight count.
    pub(crate) fn pick(&self, n: usize, load: impl Fn(usize) -> usize) -> usize {
        if n <= EXACT_SCAN_MAX {
            self.exact(n, load)
        } else {
            two_choices(n, load)
        }
    }

    fn exact(&self, n: usize, load: impl Fn(usize) -> usize) -> usize {
        // Read each counter once: they move under our feet, and both passes below must
        // agree on which endpoints tie.
        let mut loads = [0usize; EXACT_SCAN_MAX];
        let loads = &mut loads[..n];
        for (i, l) in loads.iter_mut().enumerate() {
            *l = load(i);
        }
        let min = loads.iter().copied().min().unwrap_or(0);
        let ties = loads.iter().filter(|&&l| l == min).count();
        let k = self.rotation.pick(ties.max(1));
        loads
            .iter()
            .enumerate()
            .filter(|&(_, &l)| l == min)
            .nth(k)
            .map_or(0, |(i, _)| i)
    }
}

/// Power of two choices over `n >= 2` endpoints.
fn two_choices(n: usize, load: impl Fn(usize) -> usize) -> usize {
    let a = fastrand::usize(..n);
    let mut b = fastrand::usize(..n - 1);
    if b >= a {
        b += 1; // uniform over the n-1 endpoints other than `a`
    }
    if load(b) < load(a) { b } else { a }
}

#[cfg(test)]
mod tests;
