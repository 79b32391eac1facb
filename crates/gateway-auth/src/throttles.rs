//! [`Throttles`]: the login and bad-credential throttles of an authenticator, counted in
//! Redis while it answers (shared by the fleet) and in this process's memory otherwise.
//!
//! An attempt finishes where it began: a login admitted by Redis gives its reservation
//! back to Redis (falling back to memory for its outcome if Redis failed meanwhile; the
//! Redis reservation then expires by itself).

use std::{net::IpAddr, sync::Arc, time::Duration, time::Instant};

use crate::{
    fleet::{RedisLink, RedisThrottle},
    throttle::{LoginKey, LoginOutcome, LoginThrottle, Throttle, ThrottlePolicy, address_key},
};

/// Login and bad-credential throttling.
pub(crate) struct Throttles {
    logins: LoginThrottle,
    bad_credentials: Throttle<IpAddr>,
    shared: Option<Arc<RedisThrottle>>,
}

impl Throttles {
    /// In memory, or in Redis through `link` (memory as the fallback).
    pub(crate) fn new(link: Option<Arc<RedisLink>>) -> Throttles {
        Throttles {
            logins: LoginThrottle::new(),
            bad_credentials: Throttle::new(ThrottlePolicy::BAD_CREDENTIALS),
            shared: link.map(|l| Arc::new(RedisThrottle::new(l))),
        }
    }

    /// The Redis counters, if configured and reachable now.
    fn shared(&self) -> Option<&Arc<RedisThrottle>> {
        self.shared.as_ref().filter(|s| s.link().is_up())
    }

    /// Starts a login attempt: `Err(wait)` if a bucket refuses it, else the reservation
    /// (give it back with [`LoginAttempt::finish`]).
    pub(crate) async fn begin_login(
        &self,
        username: &str,
        client: Option<IpAddr>,
    ) -> Result<LoginAttempt<'_>, Duration> {
        let key = LoginKey::new(username, client);
        if let Some(shared) = self.shared()
            && let Some(admitted) = shared.begin(&key).await
        {
            admitted?;
            return Ok(LoginAttempt {
                throttles: self,
                key: Some(key),
                shared: Some(shared.clone()),
            });
        }
        self.logins.reserve(&key, Instant::now())?;
        Ok(LoginAttempt {
            throttles: self,
            key: Some(key),
            shared: None,
        })
    }

    /// `Err(wait)` while `client` is locked out for sending invalid credentials.
    pub(crate) async fn check_address(&self, client: IpAddr) -> Result<(), Duration> {
        let address = address_key(client);
        if let Some(shared) = self.shared()
            && let Some(answer) = shared.check_address(address).await
        {
            return answer;
        }
        self.bad_credentials.check(&address, Instant::now())
    }

    /// [`Throttles::check_address`] on this replica's own counts only (no Redis round
    /// trip), for checks that cannot wait: an external token naming an unknown key.
    pub(crate) fn check_address_here(&self, client: IpAddr) -> Result<(), Duration> {
        self.bad_credentials
            .check(&address_key(client), Instant::now())
    }

    /// Counts an invalid credential from `client`. In Redis this happens in the
    /// background (the request does not wait for it; a Redis failure counts it here).
    pub(crate) fn address_failed(self: &Arc<Self>, client: IpAddr) {
        let address = address_key(client);
        let Some(shared) = self.shared().cloned() else {
            self.bad_credentials.failure(&address, Instant::now());
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            if !shared.address_failed(address).await {
                this.bad_credentials.failure(&address, Instant::now());
            }
        });
    }

    /// Drops stale in-memory keys (Redis keys expire by themselves).
    pub(crate) fn prune(&self, now: Instant) {
        self.logins.prune(now);
        self.bad_credentials.prune(now);
    }
}

/// A login attempt holding a slot in each bucket. Dropped without
/// [`LoginAttempt::finish`] (the check could not run), it counts for nothing.
pub(crate) struct LoginAttempt<'a> {
    throttles: &'a Throttles,
    /// `None` once finished.
    key: Option<LoginKey>,
    /// Where it was admitted: Redis, or memory (`None`).
    shared: Option<Arc<RedisThrottle>>,
}

impl LoginAttempt<'_> {
    /// Gives the slots back with the attempt's outcome.
    pub(crate) async fn finish(mut self, outcome: LoginOutcome) {
        let Some(key) = self.key.take() else { return };
        if let Some(shared) = &self.shared
            && shared.finish(&key, outcome).await
        {
            return;
        }
        self.throttles.logins.finish(&key, outcome, Instant::now());
    }
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        match self.shared.take() {
            Some(shared) => {
                // Cannot await here: give the reservation back in the background (it
                // expires by itself if that fails too).
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        shared.finish(&key, LoginOutcome::Abandoned).await;
                    });
                }
            }
            None => self
                .throttles
                .logins
                .finish(&key, LoginOutcome::Abandoned, Instant::now()),
        }
    }
}
