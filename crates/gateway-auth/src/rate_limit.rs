//! Request rate limits per principal: a token bucket per key, behind the
//! [`RateLimiter`] trait so a shared (Redis) limiter can replace the in-memory one.
//!
//! A quota of N requests per minute is a bucket of N tokens refilled at N/60 per second:
//! bursts of up to N, then a steady N per minute. [`MemoryRateLimiter`] keeps buckets per
//! process (each replica enforces the full quota on its own).

use std::{
    collections::HashMap,
    future::Future,
    num::NonZeroU32,
    pin::Pin,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

/// Most buckets kept; beyond it, full (idle) buckets are dropped.
const MAX_BUCKETS: usize = 100_000;

/// A limit: requests per minute, with bursts of the same size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests per minute (and the burst size).
    pub per_minute: NonZeroU32,
}

/// The answer for one request, with what the `X-RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The quota (`X-RateLimit-Limit`).
    pub limit: u32,
    /// Requests left right now (`X-RateLimit-Remaining`).
    pub remaining: u32,
    /// Until the bucket is full again (`X-RateLimit-Reset`, in seconds).
    pub reset_after: Duration,
    /// For a refused request: when one token will be back (`Retry-After`).
    pub retry_after: Option<Duration>,
}

/// The boxed future [`RateLimiter::check`] returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Decision> + Send + 'a>>;

/// Decides whether `key` may make one more request under `quota`. Implementations must
/// be cheap: this runs on every authenticated request. A shared implementation decides
/// what to do when its backend fails (the in-memory one cannot fail).
pub trait RateLimiter: Send + Sync + 'static {
    /// Takes one token from `key`'s bucket if there is one.
    fn check<'a>(&'a self, key: &'a str, quota: Quota) -> CheckFuture<'a>;

    /// Drops state that no longer matters (called periodically).
    fn prune(&self) {}
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryRateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl MemoryRateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The decision for `key` at `now` (synchronous; the trait wraps it).
    pub fn decide(&self, key: &str, quota: Quota, now: Instant) -> Decision {
        let capacity = f64::from(quota.per_minute.get());
        let rate = capacity / 60.0;
        let mut buckets = self.buckets.lock();
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            Self::retain_active(&mut buckets, now);
            if buckets.len() >= MAX_BUCKETS {
                buckets.clear();
            }
        }
        let bucket = match buckets.get_mut(key) {
            Some(b) => b,
            None => buckets.entry(key.to_owned()).or_insert(Bucket {
                tokens: capacity,
                updated: now,
            }),
        };
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.updated = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let retry_after =
            (!allowed).then(|| Duration::from_secs_f64(((1.0 - bucket.tokens) / rate).max(0.0)));
        Decision {
            allowed,
            limit: quota.per_minute.get(),
            // Whole tokens left; truncation is the point.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            remaining: bucket.tokens.floor().max(0.0) as u32,
            reset_after: Duration::from_secs_f64(((capacity - bucket.tokens) / rate).max(0.0)),
            retry_after,
        }
    }

    fn retain_active(buckets: &mut HashMap<String, Bucket>, now: Instant) {
        // A bucket idle for over a minute is full again: forgetting it changes nothing.
        buckets.retain(|_, b| now.saturating_duration_since(b.updated) < Duration::from_secs(60));
    }
}

impl RateLimiter for MemoryRateLimiter {
    fn check<'a>(&'a self, key: &'a str, quota: Quota) -> CheckFuture<'a> {
        let decision = self.decide(key, quota, Instant::now());
        Box::pin(std::future::ready(decision))
    }

    fn prune(&self) {
        Self::retain_active(&mut self.buckets.lock(), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(n: u32) -> Quota {
        Quota {
            per_minute: NonZeroU32::new(n).unwrap(),
        }
    }

    #[test]
    fn bursts_then_refills() {
        let limiter = MemoryRateLimiter::new();
        let start = Instant::now();
        for left in (0..3).rev() {
            let d = limiter.decide("k", quota(3), start);
            assert!(d.allowed);
            assert_eq!((d.limit, d.remaining), (3, left));
        }
        let refused = limiter.decide("k", quota(3), start);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        // 3 per minute: one token every 20 s.
        assert_eq!(refused.retry_after, Some(Duration::from_secs(20)));
        assert_eq!(refused.reset_after, Duration::from_secs(60));
        assert!(
            limiter.decide("other", quota(3), start).allowed,
            "keys are separate"
        );
        let later = start + Duration::from_secs(20);
        assert!(limiter.decide("k", quota(3), later).allowed);
        assert!(!limiter.decide("k", quota(3), later).allowed);
    }

    #[tokio::test]
    async fn works_through_the_trait() {
        let limiter: Box<dyn RateLimiter> = Box::new(MemoryRateLimiter::new());
        assert!(limiter.check("k", quota(1)).await.allowed);
        assert!(!limiter.check("k", quota(1)).await.allowed);
        limiter.prune();
    }
}
