//! One routable instance as the balancer sees it.

use gateway_core::{HealthScore, InstanceId, Weight};

use crate::least_conn::{InFlight, InFlightCounter};

/// A routable instance: its id, the caller's payload `T`, and what the strategies read.
///
/// Put only routable instances in a set (filter with `HealthStatus::is_routable`); the
/// balancer does not look at health status, only at the score.
///
/// The [`InstanceId`] anchors the instance on the affinity ring, so a rebuilt set that
/// lists instances in another order, or lacks one, keeps every other key where it was.
///
/// ```
/// use gateway_balancer::{Endpoint, InFlightCounter};
/// use gateway_core::{HealthScore, InstanceId, Weight};
///
/// let counter = InFlightCounter::new(); // kept by the caller across rebuilds
/// let endpoint = Endpoint::new(InstanceId::parse("fs-1")?, "http://10.0.0.1:8080")
///     .with_weight(Weight::new(3)?)
///     .with_score(HealthScore::new(0.9))
///     .with_counter(counter.clone());
/// assert_eq!(endpoint.weight().get(), 3);
/// # Ok::<(), gateway_core::ValidationError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Endpoint<T> {
    id: InstanceId,
    value: T,
    weight: Weight,
    score: HealthScore,
    in_flight: InFlightCounter,
}

impl<T> Endpoint<T> {
    /// An endpoint of weight 1, a perfect score and a fresh in-flight counter.
    pub fn new(id: InstanceId, value: T) -> Self {
        Self {
            id,
            value,
            weight: Weight::ONE,
            score: HealthScore::PERFECT,
            in_flight: InFlightCounter::new(),
        }
    }

    /// Sets the weight (read by `Weighted` and by the affinity ring).
    pub fn with_weight(mut self, weight: Weight) -> Self {
        self.weight = weight;
        self
    }

    /// Sets the health score (read by `HealthBased`).
    pub fn with_score(mut self, score: HealthScore) -> Self {
        self.score = score;
        self
    }

    /// Shares `counter` (read by `LeastConnections`). Pass the instance's long-lived
    /// counter so in-flight counts survive a rebuild of the set.
    pub fn with_counter(mut self, counter: InFlightCounter) -> Self {
        self.in_flight = counter;
        self
    }

    /// The instance id.
    pub fn id(&self) -> &InstanceId {
        &self.id
    }

    /// The caller's payload.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The weight.
    pub fn weight(&self) -> Weight {
        self.weight
    }

    /// The health score.
    pub fn score(&self) -> HealthScore {
        self.score
    }

    /// The in-flight counter.
    pub fn in_flight(&self) -> &InFlightCounter {
        &self.in_flight
    }

    /// Counts a request to this endpoint until the guard drops; call it when the
    /// request is sent, whatever the strategy, so least connections sees the load.
    #[must_use = "the request is counted only while the guard is alive"]
    pub fn enter(&self) -> InFlight {
        self.in_flight.enter()
    }
}
