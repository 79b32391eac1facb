//! Chooses which upstream instance of a template serves a request: pure selection over
//! an immutable endpoint set, with no I/O, no async runtime and no lock held across calls.
//!
//! Build a [`Balancer`] from the template's routable instances ([`Endpoint`]s) and its
//! [`Strategy`](gateway_core::Strategy) whenever instances, weights or health change, swap it in whole, and
//! call [`Balancer::select`] (or [`Balancer::select_by_key`]) per request. Selection
//! returns [`Candidates`]: the choice first, then every other endpoint once, so a retry
//! goes to another instance without selecting again. Wrap each attempt in an
//! [`InFlight`] guard so least connections sees the load.
//!
//! # Choosing a strategy
//!
//! | Strategy | Optimises | Pick it when | Cost per selection |
//! |---|---|---|---|
//! | [`RoundRobin`](gateway_core::Strategy::RoundRobin) | equal request counts | instances are alike and requests cost about the same (the default) | O(1): one atomic add |
//! | [`LeastConnections`](gateway_core::Strategy::LeastConnections) | queueing: the fewest requests waiting per instance | request cost varies widely (long tool calls, streams) or instances slow down unevenly | O(1): exact scan of ≤ 16, else two random choices |
//! | [`Weighted`](gateway_core::Strategy::Weighted) | share proportional to [`Weight`](gateway_core::Weight), interleaved (nginx-smooth) | instances differ in capacity | amortised O(log n): a heap under a short mutex |
//! | [`HealthBased`](gateway_core::Strategy::HealthBased) | staying on the healthiest instances | routable instances differ in [`HealthScore`](gateway_core::HealthScore) (latency, recent failures) | O(1): round robin over a precomputed top tier |
//! | [`Random`](gateway_core::Strategy::Random) | no shared state: no contended cache line | very high request rates across many cores, or many uncoordinated gateway replicas | O(1): thread-local RNG |
//! | [`select_by_key`](Balancer::select_by_key) (any strategy) | the same key on the same instance | sessions or caches that live on one instance | O(log n): consistent hash ring |
//!
//! Round robin and weighted count requests, not work: with uneven request cost prefer
//! least connections. Health based sends everything to the top tier (scores within
//! [`HEALTH_TIER_TOLERANCE`] of the best); the others spread over every routable
//! instance whatever its score. Affinity ignores load: a hot key stays hot.
//!
//! # Example
//!
//! ```
//! use gateway_balancer::{Balancer, Endpoint, InFlightCounter};
//! use gateway_core::{InstanceId, Strategy};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The caller keeps one counter per instance across rebuilds.
//! let counters = [InFlightCounter::new(), InFlightCounter::new()];
//! let balancer = Balancer::new(
//!     Strategy::LeastConnections,
//!     [
//!         Endpoint::new(InstanceId::parse("fs-1")?, "http://10.0.0.1:8080")
//!             .with_counter(counters[0].clone()),
//!         Endpoint::new(InstanceId::parse("fs-2")?, "http://10.0.0.2:8080")
//!             .with_counter(counters[1].clone()),
//!     ],
//! );
//!
//! let mut candidates = balancer.select();
//! let first = candidates.next().ok_or("no routable instance")?;
//! let guard = first.enter(); // counted until dropped, e.g. when the response is done
//! assert_eq!(first.in_flight().get(), 1);
//!
//! // The next request avoids the busy instance.
//! let next = balancer.select().next().ok_or("no routable instance")?;
//! assert_ne!(next.id(), first.id());
//!
//! // A retry of the first request takes the next candidate, without selecting again.
//! let retry = candidates.next().ok_or("no other instance")?;
//! assert_ne!(retry.id(), first.id());
//! drop(guard);
//! assert_eq!(counters[0].get() + counters[1].get(), 0);
//!
//! // Session stickiness: the same key, the same instance.
//! let a = balancer.select_by_key(b"session-42").next().ok_or("empty")?;
//! let b = balancer.select_by_key(b"session-42").next().ok_or("empty")?;
//! assert_eq!(a.id(), b.id());
//! # Ok(())
//! # }
//! ```

mod affinity;
mod balancer;
mod candidates;
mod endpoint;
mod hash;
mod health_based;
mod least_conn;
mod random;
mod round_robin;
mod weighted;

pub use balancer::Balancer;
pub use candidates::Candidates;
pub use endpoint::Endpoint;
pub use health_based::HEALTH_TIER_TOLERANCE;
pub use least_conn::{InFlight, InFlightCounter};
