//! [`RetryBudget`]: retries may add at most a fixed fraction of extra load, so a sick
//! backend cannot multiply traffic into a retry storm.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A token bucket refilled by first attempts and drained by retries. Lock-free: every
/// call deposits, so the tokens live in an atomic (an `f32`'s bits) updated by
/// compare-and-swap.
#[derive(Debug)]
pub struct RetryBudget {
    ratio: f32,
    reserve: f32,
    cap: f32,
    tokens: AtomicU32,
    /// Retries granted and refused so far (monotonic).
    granted: AtomicU64,
    refused: AtomicU64,
}

impl RetryBudget {
    /// Retries may add `ratio` (e.g. 0.2 = 20%) of first attempts, plus a standing
    /// reserve of `reserve` retries for low traffic.
    pub fn new(ratio: f32, reserve: u32) -> Self {
        let reserve = reserve as f32;
        Self {
            ratio: ratio.clamp(0.0, 1.0),
            reserve,
            cap: reserve.max(1.0) * 10.0,
            tokens: AtomicU32::new(reserve.to_bits()),
            granted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Records a first attempt.
    pub fn deposit(&self) {
        let cap = self.cap;
        let ratio = self.ratio;
        self.update(|t| (t < cap).then(|| (t + ratio).min(cap)));
    }

    /// Takes one retry from the budget; `false` when it is spent.
    pub fn try_withdraw(&self) -> bool {
        let granted = self.update(|t| (t >= 1.0).then_some(t - 1.0));
        let counter = if granted {
            &self.granted
        } else {
            &self.refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
        granted
    }

    /// Retries that can be taken now.
    pub fn available(&self) -> f32 {
        f32::from_bits(self.tokens.load(Ordering::Acquire))
    }

    /// Retries granted so far.
    pub fn granted(&self) -> u64 {
        self.granted.load(Ordering::Relaxed)
    }

    /// Retries refused so far because the budget was spent.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Applies `change` atomically; `false` (nothing stored) when it returns `None`.
    fn update(&self, change: impl Fn(f32) -> Option<f32>) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                change(f32::from_bits(bits)).map(f32::to_bits)
            })
            .is_ok()
    }

    /// The standing reserve.
    pub fn reserve(&self) -> f32 {
        self.reserve
    }
}

impl Default for RetryBudget {
    /// 20% extra load, 10 retries in reserve.
    fn default() -> Self {
        Self::new(0.2, 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_bounded_by_the_ratio() {
        let b = RetryBudget::new(0.2, 2);
        assert!(b.try_withdraw() && b.try_withdraw());
        assert!(!b.try_withdraw(), "reserve spent");
        for _ in 0..100 {
            b.deposit();
        }
        let granted = (0..100).filter(|_| b.try_withdraw()).count();
        assert_eq!(granted, 20, "100 first attempts buy 20 retries");
        assert_eq!(b.granted(), 22);
        assert_eq!(b.refused(), 81);
        assert!(b.available() < 1.0);
    }
}
