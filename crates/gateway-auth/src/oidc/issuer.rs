//! [`Issuer`]: one trusted issuer with its cached keys, and when to fetch them again.
//!
//! Keys are fetched in the background at start and every `jwks_refresh`; a token may
//! also cause a fetch (keys not loaded yet, or a `kid` the set lacks: the issuer rotated
//! its keys), at most once per `jwks_min_refetch`. Fetches are single-flight: requests
//! arriving while one runs wait for it instead of starting their own. A failed fetch
//! keeps the keys already held (the issuer's outage does not reject tokens it signed
//! before); an issuer whose keys were never loaded rejects its tokens.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::{Mutex, RwLock};

use super::{
    fetch::{FetchError, Fetcher},
    keys::KeySet,
    settings::IssuerConfig,
};

/// Why keys are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The background schedule.
    Scheduled,
    /// A token needs a key the set lacks (or no set is loaded).
    OnDemand,
}

/// Whether a fetch for `reason` may start now, the last one having started at `last`.
pub(crate) fn may_fetch(
    reason: Reason,
    last: Option<Instant>,
    now: Instant,
    min_refetch: Duration,
) -> bool {
    match reason {
        Reason::Scheduled => true,
        Reason::OnDemand => last.is_none_or(|at| now.saturating_duration_since(at) >= min_refetch),
    }
}

/// A trusted issuer.
pub(crate) struct Issuer {
    pub(crate) config: IssuerConfig,
    keys: RwLock<Option<Arc<KeySet>>>,
    /// When the last fetch started, and the JWKS location once discovered.
    state: Mutex<FetchState>,
    /// Held while fetching (single flight).
    gate: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    attempts: u64,
    jwks_uri: Option<String>,
}

impl Issuer {
    pub(crate) fn new(config: IssuerConfig) -> Issuer {
        let jwks_uri = config.jwks_uri.clone();
        Issuer {
            config,
            keys: RwLock::new(None),
            state: Mutex::new(FetchState {
                jwks_uri,
                ..FetchState::default()
            }),
            gate: tokio::sync::Mutex::new(()),
        }
    }

    /// The keys held now.
    pub(crate) fn keys(&self) -> Option<Arc<KeySet>> {
        self.keys.read().clone()
    }

    /// Fetches the keys if `reason` allows it now; a caller that finds a fetch running
    /// waits for it and uses its result. Returns whether a fetch ran and succeeded
    /// (`false`: refused by the rate bound, or failed; the error is logged).
    pub(crate) async fn refresh(&self, fetcher: &Fetcher, reason: Reason) -> bool {
        let seen = self.state.lock().attempts;
        let _gate = self.gate.lock().await;
        let now = Instant::now();
        {
            let mut state = self.state.lock();
            if state.attempts != seen {
                // Another caller fetched while this one waited: its result stands.
                return self.keys.read().is_some();
            }
            if !may_fetch(
                reason,
                state.last_attempt,
                now,
                self.config.jwks_min_refetch,
            ) {
                return false;
            }
            state.last_attempt = Some(now);
            state.attempts += 1;
        }
        match self.fetch(fetcher).await {
            Ok(set) => {
                self.install(set);
                true
            }
            Err(e) => {
                tracing::warn!(
                    issuer = %self.config.name,
                    error = %e,
                    "cannot load the issuer's signing keys: its tokens are refused until they load"
                );
                false
            }
        }
    }

    async fn fetch(&self, fetcher: &Fetcher) -> Result<KeySet, FetchError> {
        let known = self.state.lock().jwks_uri.clone();
        let jwks_uri = match known {
            Some(uri) => uri,
            None => {
                let uri = fetcher.discover_jwks_uri(&self.config.issuer).await?;
                self.state.lock().jwks_uri = Some(uri.clone());
                uri
            }
        };
        let document = match fetcher.get(&jwks_uri).await {
            Ok(document) => document,
            Err(e) => {
                // A discovered location may have moved: discover again next time.
                if self.config.jwks_uri.is_none() {
                    self.state.lock().jwks_uri = None;
                }
                return Err(e);
            }
        };
        KeySet::parse(&document).map_err(|e| FetchError::Invalid {
            url: jwks_uri,
            reason: e.as_str().to_owned(),
        })
    }

    /// Makes `set` current; its generation moves on only if the keys changed.
    pub(crate) fn install(&self, mut set: KeySet) {
        let mut keys = self.keys.write();
        match keys.as_ref() {
            Some(old) if old.same_keys(&set) => {}
            Some(old) => {
                set.generation = old.generation + 1;
                tracing::info!(
                    issuer = %self.config.name,
                    keys = set.len(),
                    generation = set.generation,
                    "issuer signing keys changed"
                );
                *keys = Some(Arc::new(set));
            }
            None => {
                tracing::info!(issuer = %self.config.name, keys = set.len(), "issuer signing keys loaded");
                *keys = Some(Arc::new(set));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_demand_fetches_are_rate_bound() {
        let t0 = Instant::now();
        let min = Duration::from_secs(30);
        assert!(may_fetch(Reason::OnDemand, None, t0, min));
        assert!(!may_fetch(
            Reason::OnDemand,
            Some(t0),
            t0 + Duration::from_secs(29),
            min
        ));
        assert!(may_fetch(
            Reason::OnDemand,
            Some(t0),
            t0 + Duration::from_secs(30),
            min
        ));
        assert!(may_fetch(Reason::Scheduled, Some(t0), t0, min));
    }
}
