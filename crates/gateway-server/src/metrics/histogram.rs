//! [`Histogram`]: a latency histogram of atomics. Observing is a bucket search over a
//! fixed array and two relaxed atomic additions, so it can sit on the request path;
//! the cumulative counts Prometheus wants are summed at scrape time.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

/// Upper bounds of the buckets, in seconds: the OpenTelemetry MCP conventions' advice
/// (10 ms to 300 s) with four finer ones below, for a gateway whose own share of a call
/// is well under a millisecond.
pub(crate) const BOUNDS_SECONDS: [f64; 18] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0, 300.0,
];

/// [`BOUNDS_SECONDS`] in nanoseconds (compared against on each observation).
const BOUNDS_NANOS: [u64; 18] = [
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
    60_000_000_000,
    120_000_000_000,
    300_000_000_000,
];

/// Buckets including `+Inf`.
const BUCKETS: usize = BOUNDS_NANOS.len() + 1;

/// Counts of observations per bucket (not cumulative) and their sum.
#[derive(Default)]
pub(crate) struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    sum_nanos: AtomicU64,
}

/// What a scrape reads of a [`Histogram`].
pub(crate) struct Snapshot {
    /// Cumulative counts per bound of [`BOUNDS_SECONDS`], then `+Inf` (= the count).
    pub(crate) cumulative: [u64; BUCKETS],
    pub(crate) sum_seconds: f64,
}

impl Snapshot {
    /// Observations in total.
    pub(crate) fn count(&self) -> u64 {
        self.cumulative[BUCKETS - 1]
    }
}

impl Histogram {
    /// Records one observation.
    pub(crate) fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let i = BOUNDS_NANOS
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(BUCKETS - 1);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The cumulative counts and the sum.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut cumulative = [0; BUCKETS];
        let mut running = 0u64;
        for (slot, bucket) in cumulative.iter_mut().zip(&self.buckets) {
            running += bucket.load(Ordering::Relaxed);
            *slot = running;
        }
        Snapshot {
            cumulative,
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }

    /// Observations in total.
    #[cfg(test)]
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_agree() {
        for (s, n) in BOUNDS_SECONDS.iter().zip(BOUNDS_NANOS) {
            assert_eq!((s * 1e9).round() as u64, n);
        }
    }

    #[test]
    fn observations_land_in_their_bucket_and_accumulate() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(1000));
        let s = h.snapshot();
        assert_eq!(s.cumulative[0], 2, "<= 0.5 ms, bound included");
        assert_eq!(s.cumulative[2], 2);
        assert_eq!(s.cumulative[3], 3);
        assert_eq!(s.cumulative[BUCKETS - 2], 3);
        assert_eq!(s.count(), 4);
        assert_eq!(h.count(), 4);
        assert!((s.sum_seconds - 1000.0036).abs() < 1e-9);
    }
}
