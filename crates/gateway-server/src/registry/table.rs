//! The routing view: an immutable snapshot per change, read without locks on the
//! request path.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use gateway_balancer::{Balancer, Endpoint, InFlightCounter};
use gateway_core::{HealthStatus, Instance, LoadBalancerSettings, TemplateName};
use gateway_health::{AdmissionGate, HealthCell};
use gateway_transport::{Connector, Upstream};

use crate::metrics::ClientOps;

/// One registered instance with its live connection and counters.
pub(crate) struct InstanceHandle {
    pub(crate) instance: Instance,
    pub(crate) upstream: Upstream,
    pub(crate) counter: InFlightCounter,
    /// Its share of `upstream_limits`: requests in flight and waiting.
    pub(crate) gate: AdmissionGate,
    pub(crate) stats: InstanceStats,
    /// Its attempts, timed by method and outcome (`mcp_client_operation_duration_seconds`).
    pub(crate) ops: ClientOps,
    pub(crate) health: Arc<HealthCell>,
}

impl InstanceHandle {
    /// The API status: `restarting` while its stdio child (or SSE stream) is down and
    /// waiting for its restart, `unhealthy` while otherwise not fit for traffic (failing
    /// probes or circuit open), else `healthy`, `unknown` (not probed yet) or `starting`
    /// (also just after a restart, until its first probe passes).
    pub(crate) fn status(&self) -> InstanceStatus {
        let snapshot = self.health.snapshot();
        if snapshot.link.is_some_and(|l| l.down) {
            InstanceStatus::Restarting
        } else if snapshot.routable {
            match snapshot.status {
                HealthStatus::Unknown => InstanceStatus::Unknown,
                HealthStatus::Healthy => InstanceStatus::Healthy,
                HealthStatus::Unhealthy => InstanceStatus::Unhealthy,
                HealthStatus::Starting => InstanceStatus::Starting,
            }
        } else {
            InstanceStatus::Unhealthy
        }
    }

    /// Fit for traffic and not still starting (what health views count as healthy).
    pub(crate) fn is_healthy(&self) -> bool {
        self.health.is_routable() && self.health.snapshot().status != HealthStatus::Starting
    }
}

/// An instance's status as the APIs show it: its probe status, refined by what routing
/// and the transport know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstanceStatus {
    Healthy,
    /// Failing probes, or circuit open.
    Unhealthy,
    /// Its stdio child (or SSE stream) is down, waiting for its restart.
    Restarting,
    /// Not probed yet.
    Unknown,
    /// Starting (also just after a restart, until its first probe passes).
    Starting,
}

impl InstanceStatus {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Healthy => "healthy",
            InstanceStatus::Unhealthy => "unhealthy",
            InstanceStatus::Restarting => "restarting",
            InstanceStatus::Unknown => "unknown",
            InstanceStatus::Starting => "starting",
        }
    }
}

/// Counters kept per instance (metrics-ready: monotonic totals plus a gauge).
#[derive(Default)]
pub(crate) struct InstanceStats {
    pub(crate) requests: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) latency_micros_total: AtomicU64,
}

impl InstanceStats {
    pub(crate) fn record(&self, ok: bool, elapsed: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.latency_micros_total.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A template's settings, instances and balancer, rebuilt on every change.
pub(crate) struct TemplateRoute {
    pub(crate) name: TemplateName,
    pub(crate) settings: LoadBalancerSettings,
    /// Where the template's upstreams come from: its stdio pool size and its upstream
    /// TLS settings (an HTTP connection pool of its own when it has any).
    pub(crate) connector: Connector,
    /// In registration order.
    pub(crate) instances: Vec<Arc<InstanceHandle>>,
    pub(crate) balancer: Balancer<Arc<InstanceHandle>>,
}

impl TemplateRoute {
    pub(crate) fn new(
        name: TemplateName,
        settings: LoadBalancerSettings,
        connector: Connector,
        instances: Vec<Arc<InstanceHandle>>,
    ) -> Self {
        // The route is rebuilt whenever health changes (see `Registry::spawn_health_sync`).
        let endpoints = offered(&instances).into_iter().map(|h| {
            Endpoint::new(h.instance.id.clone(), h.clone())
                .with_weight(h.instance.weight)
                .with_score(h.health.score())
                .with_counter(h.counter.clone())
        });
        let balancer = Balancer::new(settings.strategy(), endpoints);
        Self {
            name,
            settings,
            connector,
            instances,
            balancer,
        }
    }

    /// Instances whose last known state is routable.
    pub(crate) fn healthy_count(&self) -> usize {
        self.instances.iter().filter(|h| h.is_healthy()).count()
    }
}

/// The instances a route offers the balancer: those fit for traffic; when there are
/// none, those held out only while their stdio child (or SSE stream) restarts, so a
/// request waits (within its deadline) for a restart that takes a fraction of a second
/// rather than failing at once. A crash loop, failing probes or an open circuit end
/// that wait.
pub(crate) fn offered(instances: &[Arc<InstanceHandle>]) -> Vec<&Arc<InstanceHandle>> {
    let routable: Vec<_> = instances
        .iter()
        .filter(|h| h.health.is_routable())
        .collect();
    if !routable.is_empty() {
        return routable;
    }
    instances
        .iter()
        .filter(|h| h.health.awaits_restart())
        .collect()
}

/// The published [`RoutingTable`]: the registry swaps in a new one on every change
/// (writers are serialised), the relay loads the current one without locking.
#[derive(Clone, Default)]
pub(crate) struct Routing(Arc<ArcSwap<RoutingTable>>);

impl Routing {
    /// The current table.
    pub(crate) fn load_full(&self) -> Arc<RoutingTable> {
        self.0.load_full()
    }

    /// Publishes `table`.
    pub(crate) fn store(&self, table: Arc<RoutingTable>) {
        self.0.store(table);
    }
}

/// Every template, by name.
#[derive(Default)]
pub(crate) struct RoutingTable {
    pub(crate) templates: BTreeMap<TemplateName, Arc<TemplateRoute>>,
}

impl RoutingTable {
    pub(crate) fn get(&self, name: &str) -> Option<&Arc<TemplateRoute>> {
        // Names that fail validation can never be registered, so they are simply absent.
        TemplateName::parse(name)
            .ok()
            .and_then(|n| self.templates.get(&n))
    }

    pub(crate) fn instances(&self) -> impl Iterator<Item = &Arc<InstanceHandle>> {
        self.templates.values().flat_map(|t| t.instances.iter())
    }
}
