//! [`RedisThrottle`]: the login and bad-credential throttles' counters in Redis.

use std::{net::IpAddr, sync::Arc, time::Duration};

use crate::{
    fleet::{RedisLink, scripts},
    throttle::{IN_FLIGHT_RETRY, LoginKey, LoginOutcome, ThrottlePolicy},
};

/// How long a login's reservation lives in Redis: longer than any password check, so a
/// replica that dies mid-login frees it this way.
const RESERVATION: Duration = Duration::from_secs(30);

/// The throttles' counters under `{prefix}login:` and `{prefix}badcred:`.
pub(crate) struct RedisThrottle {
    link: Arc<RedisLink>,
    script: redis::Script,
}

impl RedisThrottle {
    pub(crate) fn new(link: Arc<RedisLink>) -> RedisThrottle {
        RedisThrottle {
            link,
            script: redis::Script::new(scripts::THROTTLE),
        }
    }

    pub(crate) fn link(&self) -> &RedisLink {
        &self.link
    }

    /// Runs the script; `None` when Redis is down or failed.
    async fn run(&self, op: &str, keys: &[(String, ThrottlePolicy)]) -> Option<Duration> {
        let mut invocation = self.script.prepare_invoke();
        for (key, _) in keys {
            invocation.key(self.link.key(key));
        }
        invocation
            .arg(op)
            .arg(millis(RESERVATION))
            .arg(millis(IN_FLIGHT_RETRY));
        for (_, p) in keys {
            invocation
                .arg(p.free)
                .arg(millis(p.base))
                .arg(millis(p.max))
                .arg(millis(p.window));
        }
        let wait: u64 = self
            .link
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Some(Duration::from_millis(wait))
    }

    fn login_keys(key: &LoginKey) -> [(String, ThrottlePolicy); 3] {
        [
            (
                format!("login:pair:{}|{}", key.user, key.address),
                ThrottlePolicy::PER_USER_AND_ADDRESS,
            ),
            (
                format!("login:addr:{}", key.address),
                ThrottlePolicy::PER_ADDRESS,
            ),
            (format!("login:user:{}", key.user), ThrottlePolicy::PER_USER),
        ]
    }

    /// Admits and reserves; `Some(Err(wait))` when refused, `None` when Redis failed.
    pub(crate) async fn begin(&self, key: &LoginKey) -> Option<Result<(), Duration>> {
        let wait = self.run("begin", &Self::login_keys(key)).await?;
        Some(if wait.is_zero() { Ok(()) } else { Err(wait) })
    }

    /// Gives the reservation back with the outcome (`false` when Redis failed; the
    /// reservation then expires on its own).
    pub(crate) async fn finish(&self, key: &LoginKey, outcome: LoginOutcome) -> bool {
        let op = match outcome {
            LoginOutcome::Failed => "fail",
            LoginOutcome::Succeeded => "ok",
            LoginOutcome::Abandoned => "release",
        };
        self.run(op, &Self::login_keys(key)).await.is_some()
    }

    fn address_key(address: IpAddr) -> [(String, ThrottlePolicy); 1] {
        [(
            format!("badcred:{address}"),
            ThrottlePolicy::BAD_CREDENTIALS,
        )]
    }

    /// `Some(Err(wait))` while `address` is locked for invalid credentials.
    pub(crate) async fn check_address(&self, address: IpAddr) -> Option<Result<(), Duration>> {
        let wait = self.run("check", &Self::address_key(address)).await?;
        Some(if wait.is_zero() { Ok(()) } else { Err(wait) })
    }

    /// Counts an invalid credential from `address` (`false` when Redis failed).
    pub(crate) async fn address_failed(&self, address: IpAddr) -> bool {
        self.run("failure", &Self::address_key(address))
            .await
            .is_some()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
