//! The immutable endpoint set of one template and its selection state.

use std::fmt;

use gateway_core::Strategy;

use crate::{
    affinity::Ring, candidates::Candidates, endpoint::Endpoint, health_based::HealthBased,
    least_conn::LeastConn, random, round_robin::RoundRobin, weighted::Weighted,
};

/// The routable instances of one template and a strategy to choose among them.
///
/// Built whenever instances, weights or health change (seconds apart, never per
/// request) and swapped in whole, for example through an `ArcSwap`; selection then
/// reads it through `&self`. The only mutable state is the strategy's rotation (an
/// atomic, or for `Weighted` a mutex held for one heap pop and push), so a rebuild
/// starts a fresh rotation, while in-flight counts live in the callers'
/// [`InFlightCounter`](crate::InFlightCounter)s and carry over.
///
/// `Balancer<T>` is `Send + Sync` when `T` is.
pub struct Balancer<T> {
    strategy: Strategy,
    endpoints: Box<[Endpoint<T>]>,
    selector: Selector,
    ring: Ring,
}

/// The per-strategy selection state.
#[derive(Debug)]
enum Selector {
    RoundRobin(RoundRobin),
    LeastConnections(LeastConn),
    Weighted(Weighted),
    HealthBased(HealthBased),
    Random,
}

impl<T> Balancer<T> {
    /// Builds the set. Instance ids should be unique.
    ///
    /// Endpoints keep the given order, except under [`Strategy::HealthBased`], which
    /// sorts them by score, best first (stably), so that fallbacks run from healthy to
    /// sick. Also builds the affinity ring (O(n log n), see
    /// [`select_by_key`](Self::select_by_key)).
    pub fn new(strategy: Strategy, endpoints: impl IntoIterator<Item = Endpoint<T>>) -> Self {
        let mut endpoints: Vec<Endpoint<T>> = endpoints.into_iter().collect();
        if strategy == Strategy::HealthBased {
            endpoints.sort_by(|a, b| b.score().get().total_cmp(&a.score().get()));
        }
        let n = endpoints.len();
        let selector = match strategy {
            Strategy::RoundRobin => Selector::RoundRobin(RoundRobin::new(n)),
            Strategy::LeastConnections => Selector::LeastConnections(LeastConn::new(n)),
            Strategy::Weighted => {
                Selector::Weighted(Weighted::new(endpoints.iter().map(|e| e.weight().get())))
            }
            Strategy::HealthBased => {
                Selector::HealthBased(HealthBased::new(endpoints.iter().map(Endpoint::score)))
            }
            Strategy::Random => Selector::Random,
        };
        let ring = Ring::new(
            endpoints
                .iter()
                .map(|e| (e.id().as_str().as_bytes(), e.weight().get())),
        );
        Self {
            strategy,
            endpoints: endpoints.into_boxed_slice(),
            selector,
            ring,
        }
    }

    /// The strategy [`select`](Self::select) follows.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// How many endpoints the set holds.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether the set is empty (every selection then yields nothing).
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// The endpoints, in the order fallbacks follow.
    pub fn endpoints(&self) -> &[Endpoint<T>] {
        &self.endpoints
    }

    /// Chooses by the strategy: its choice first, then every other endpoint once.
    ///
    /// Never allocates; O(1), or amortised O(log n) for `Weighted`.
    pub fn select(&self) -> Candidates<'_, T> {
        let n = self.endpoints.len();
        if n == 0 {
            return Candidates::empty();
        }
        let first = if n == 1 {
            0
        } else {
            match &self.selector {
                Selector::RoundRobin(rr) => rr.pick(n),
                Selector::LeastConnections(lc) => lc.pick(n, |i| {
                    self.endpoints
                        .get(i)
                        .map_or(usize::MAX, |e| e.in_flight().get())
                }),
                Selector::Weighted(w) => w.pick(),
                Selector::HealthBased(hb) => hb.pick(),
                Selector::Random => random::pick(n),
            }
        };
        Candidates::new(&self.endpoints, first)
    }

    /// Chooses by consistent hash of `key`, whatever the strategy: the same key gets the
    /// same instance for as long as that instance is in the set, and removing one of
    /// `n` instances re-homes only about `1/n` of the keys. Use it for session
    /// stickiness.
    ///
    /// The owner comes first, then the next instance clockwise on the ring (where the
    /// key goes if the owner leaves the set, so a retry and a later rebuild agree),
    /// then the rest. Never allocates; O(log n).
    pub fn select_by_key(&self, key: &[u8]) -> Candidates<'_, T> {
        match self.ring.lookup(key) {
            Some((first, second)) => Candidates::with_fallback(&self.endpoints, first, second),
            None => Candidates::empty(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Balancer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balancer")
            .field("strategy", &self.strategy)
            .field("endpoints", &self.endpoints)
            .field("ring_points", &self.ring.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
