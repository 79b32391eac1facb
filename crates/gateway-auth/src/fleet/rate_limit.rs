//! [`FleetRateLimiter`]: token buckets in Redis, shared by every replica, with the
//! in-memory limiter as the fallback while Redis is unreachable.

use std::{sync::Arc, time::Duration, time::Instant};

use crate::{
    fleet::{RedisLink, scripts},
    rate_limit::{CheckFuture, Decision, MemoryRateLimiter, Quota, RateLimiter},
};

/// A [`RateLimiter`] whose buckets live in Redis: a quota of N per minute holds for the
/// whole fleet. While Redis is down, this replica's own buckets decide (each replica
/// then allows up to N on its own).
pub struct FleetRateLimiter {
    link: Arc<RedisLink>,
    script: redis::Script,
    local: MemoryRateLimiter,
}

impl std::fmt::Debug for FleetRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetRateLimiter")
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

impl FleetRateLimiter {
    /// Buckets under `{prefix}rl:` on `link`.
    pub fn new(link: Arc<RedisLink>) -> FleetRateLimiter {
        FleetRateLimiter {
            link,
            script: redis::Script::new(scripts::TOKEN_BUCKET),
            local: MemoryRateLimiter::new(),
        }
    }

    async fn shared(&self, key: &str, quota: Quota) -> Option<Decision> {
        let capacity = quota.per_minute.get();
        let rate = f64::from(capacity) / 60.0;
        let bucket = self.link.key(&format!("rl:{key}"));
        let (allowed, tokens): (i64, String) = self
            .link
            .run(|mut conn| {
                let mut invocation = self.script.key(bucket);
                invocation.arg(capacity).arg(rate);
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await?;
        let tokens = tokens.parse::<f64>().ok()?;
        Some(decision(allowed == 1, tokens, capacity, rate))
    }
}

/// The headers' view of a bucket holding `tokens` after this request.
fn decision(allowed: bool, tokens: f64, capacity: u32, rate: f64) -> Decision {
    let tokens = tokens.clamp(0.0, f64::from(capacity));
    Decision {
        allowed,
        limit: capacity,
        // Whole tokens left; truncation is the point.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        remaining: tokens.floor() as u32,
        reset_after: Duration::from_secs_f64(((f64::from(capacity) - tokens) / rate).max(0.0)),
        retry_after: (!allowed).then(|| Duration::from_secs_f64(((1.0 - tokens) / rate).max(0.0))),
    }
}

impl RateLimiter for FleetRateLimiter {
    fn check<'a>(&'a self, key: &'a str, quota: Quota) -> CheckFuture<'a> {
        Box::pin(async move {
            match self.shared(key, quota).await {
                Some(decision) => decision,
                None => self.local.decide(key, quota, Instant::now()),
            }
        })
    }

    fn prune(&self) {
        self.local.prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_match_the_memory_limiter() {
        // 3 per minute, 1 token left after this request.
        let d = decision(true, 1.0, 3, 0.05);
        assert_eq!((d.allowed, d.limit, d.remaining), (true, 3, 1));
        assert_eq!(d.reset_after, Duration::from_secs(40));
        assert_eq!(d.retry_after, None);
        let refused = decision(false, 0.0, 3, 0.05);
        assert_eq!(refused.retry_after, Some(Duration::from_secs(20)));
        assert_eq!(refused.reset_after, Duration::from_secs(60));
    }
}
