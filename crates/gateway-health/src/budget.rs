//! [`RetryBudget`]: retries may add at most a fixed fraction of extra load, so a sick
//! backend cannot multiply traffic into a retry storm.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// A token bucket refilled by first attempts and drained by retries.
#[derive(Debug)]
pub struct RetryBudget {
    ratio: f32,
    reserve: f32,
    cap: f32,
    tokens: Mutex<f32>,
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
            tokens: Mutex::new(reserve),
            granted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Records a first attempt.
    pub fn deposit(&self) {
        let mut t = self.tokens.lock();
        *t = (*t + self.ratio).min(self.cap);
    }

    /// Takes one retry from the budget; `false` when it is spent.
    pub fn try_withdraw(&self) -> bool {
        let mut t = self.tokens.lock();
        let granted = *t >= 1.0;
        if granted {
            *t -= 1.0;
        }
        drop(t);
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
        *self.tokens.lock()
    }

    /// Retries granted so far.
    pub fn granted(&self) -> u64 {
        self.granted.load(Ordering::Relaxed)
    }

    /// Retries refused so far because the budget was spent.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
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
