//! [`HealthBoard`]: every instance's [`HealthCell`], metrics-ready counters, and a
//! change signal the server uses to rebuild its routing when routability or scores move.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use gateway_core::{HealthScore, HealthStatus, InstanceId};
use gateway_transport::LinkState;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::{
    HealthPolicy,
    state::{Circuit, CircuitPosition, InstanceHealth, LinkHealth, Outcome, Transition},
};

/// Gateway-wide health counters (monotonic; exportable as Prometheus counters).
#[derive(Debug, Default)]
pub struct Counters {
    /// Active probes run (`gateway_health_checks_total`).
    pub checks: AtomicU64,
    /// Active probes that failed (`gateway_health_check_failures_total`).
    pub check_failures: AtomicU64,
    /// Status and circuit transitions (`gateway_health_transitions_total`).
    pub transitions: AtomicU64,
    /// Times a circuit opened (`gateway_circuit_openings_total`).
    pub circuit_openings: AtomicU64,
    /// Times a supervised link (stdio child, SSE stream) went down and was restarted
    /// (`gateway_link_restarts_total`).
    pub link_restarts: AtomicU64,
}

struct Shared {
    generation: watch::Sender<u64>,
    counters: Counters,
}

/// Every instance's health, plus counters.
pub struct HealthBoard {
    cells: RwLock<HashMap<InstanceId, Arc<HealthCell>>>,
    shared: Arc<Shared>,
    policy: HealthPolicy,
}

impl HealthBoard {
    /// An empty board whose cells follow `policy`.
    pub fn new(policy: HealthPolicy) -> Self {
        let (generation, _) = watch::channel(0);
        Self {
            cells: RwLock::new(HashMap::new()),
            shared: Arc::new(Shared {
                generation,
                counters: Counters::default(),
            }),
            policy,
        }
    }

    /// The cell of `id`, created with status `initial` if new.
    pub fn cell(&self, id: &InstanceId, initial: HealthStatus) -> Arc<HealthCell> {
        if let Some(cell) = self.cells.read().get(id) {
            return cell.clone();
        }
        let now = Instant::now();
        let cell = Arc::new_cyclic(|me| HealthCell {
            me: me.clone(),
            id: id.clone(),
            state: Mutex::new(InstanceHealth::new(self.policy, initial, now)),
            routable: AtomicBool::new(true),
            awaiting_restart: AtomicBool::new(false),
            score_bucket: AtomicU8::new(bucket(HealthScore::PERFECT)),
            last_check: Mutex::new(None),
            shared: self.shared.clone(),
        });
        self.cells.write().entry(id.clone()).or_insert(cell).clone()
    }

    /// Forgets an instance.
    pub fn remove(&self, id: &InstanceId) {
        self.cells.write().remove(id);
    }

    /// Looks up a cell.
    pub fn get(&self, id: &InstanceId) -> Option<Arc<HealthCell>> {
        self.cells.read().get(id).cloned()
    }

    /// Bumps whenever some instance's routability, restart wait or score bucket changes.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.generation.subscribe()
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }
}

/// The last active check of an instance.
#[derive(Debug, Clone)]
pub struct CheckRecord {
    /// When it finished.
    pub at: SystemTime,
    /// Whether it passed.
    pub ok: bool,
    /// How long it took.
    pub latency: Duration,
    /// Why it failed.
    pub error: Option<String>,
}

/// A point-in-time view of one instance's health.
#[derive(Debug, Clone)]
pub struct HealthSnapshot {
    /// Probe-derived status.
    pub status: HealthStatus,
    /// Circuit position.
    pub circuit: CircuitPosition,
    /// Whether the balancer offers it now.
    pub routable: bool,
    /// Health score.
    pub score: HealthScore,
    /// Smoothed latency, ms.
    pub latency_ms: f32,
    /// Ejections in the current streak.
    pub ejections: u32,
    /// The last active check.
    pub last_check: Option<CheckRecord>,
    /// What the transport reports about the link (supervised instances only).
    pub link: Option<LinkHealth>,
}

/// One instance's health cell: the state machine behind a short lock, and cached
/// flags that the request path reads without locking.
pub struct HealthCell {
    me: std::sync::Weak<HealthCell>,
    id: InstanceId,
    state: Mutex<InstanceHealth>,
    routable: AtomicBool,
    awaiting_restart: AtomicBool,
    score_bucket: AtomicU8,
    last_check: Mutex<Option<CheckRecord>>,
    shared: Arc<Shared>,
}

impl HealthCell {
    /// Whether the balancer should offer this instance (cached; refreshed on every event).
    pub fn is_routable(&self) -> bool {
        self.routable.load(Ordering::Relaxed)
    }

    /// Held out only while its link restarts (cached; see
    /// [`InstanceHealth::awaits_restart`]): a template with nothing routable may wait for
    /// it.
    pub fn awaits_restart(&self) -> bool {
        self.awaiting_restart.load(Ordering::Relaxed)
    }

    /// The current score.
    pub fn score(&self) -> HealthScore {
        self.state.lock().score()
    }

    /// Asks the circuit breaker to let one live request through.
    pub fn try_acquire(&self) -> bool {
        let now = Instant::now();
        // One lock for the decision and the flags it may change (the request path).
        let (allowed, flags) = {
            let mut state = self.state.lock();
            let allowed = state.try_acquire(now);
            (allowed, Flags::of(&state, now))
        };
        self.publish(flags);
        allowed
    }

    /// Reports a live request's outcome.
    pub fn report(&self, outcome: Outcome, latency: Duration) {
        let now = Instant::now();
        let (changes, flags) = {
            let mut state = self.state.lock();
            let changes = state.on_request(outcome, latency, now);
            (changes, Flags::of(&state, now))
        };
        if changes.is_empty() {
            self.publish(flags);
        } else {
            self.apply(&changes, now);
        }
    }

    /// Reports an active probe's result.
    pub fn record_probe(&self, ok: bool, latency: Duration, error: Option<String>) {
        let now = Instant::now();
        let counters = &self.shared.counters;
        counters.checks.fetch_add(1, Ordering::Relaxed);
        if !ok {
            counters.check_failures.fetch_add(1, Ordering::Relaxed);
        }
        *self.last_check.lock() = Some(CheckRecord {
            at: SystemTime::now(),
            ok,
            latency,
            error,
        });
        let changes = self.state.lock().on_probe(ok, latency, now);
        self.apply(&changes, now);
    }

    /// Follows a supervised transport's link (see [`InstanceHealth`] for the mapping):
    /// down while restarting, a fresh start once back. `Starting` and `Closed` change
    /// nothing (`Closed` is the gateway's own doing: deregistration or shutdown). Returns
    /// whether the link just came back, when a probe at once settles the new process.
    pub fn on_link(&self, link: &LinkState) -> bool {
        let now = Instant::now();
        let changes = {
            let mut state = self.state.lock();
            match *link {
                LinkState::Restarting {
                    attempt, backoff, ..
                } => state.on_link_down(attempt, backoff, now),
                LinkState::Connected => state.on_link_up(now),
                LinkState::Starting | LinkState::Closed => return false,
            }
        };
        let back = changes
            .iter()
            .any(|c| matches!(c, Transition::Link { up: true, .. }));
        self.apply(&changes, now);
        back
    }

    /// A consistent view for APIs.
    pub fn snapshot(&self) -> HealthSnapshot {
        let now = Instant::now();
        let state = self.state.lock();
        HealthSnapshot {
            status: state.status(),
            circuit: state.circuit(now).position(),
            // The flag the balancer uses, so APIs and routing always agree.
            routable: self.is_routable(),
            score: state.score(),
            latency_ms: state.latency_ms(),
            ejections: state.ejections(),
            last_check: self.last_check.lock().clone(),
            link: state.link(),
        }
    }

    fn apply(&self, changes: &[Transition], now: Instant) {
        let counters = &self.shared.counters;
        for change in changes {
            counters.transitions.fetch_add(1, Ordering::Relaxed);
            match change {
                Transition::Status { from, to } => {
                    tracing::info!(instance = %self.id, from = from.as_str(), to = to.as_str(), "health status changed");
                }
                Transition::Link { up: false, attempt } => {
                    counters.link_restarts.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(instance = %self.id, attempt, "upstream link down: instance held out until it is back");
                }
                Transition::Link { up: true, attempt } => {
                    tracing::info!(instance = %self.id, attempt, "upstream link back");
                }
                Transition::Circuit { from, to } => {
                    let opened = *to == CircuitPosition::Open;
                    let (from, to) = (from.as_str(), to.as_str());
                    if opened {
                        counters.circuit_openings.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(instance = %self.id, from, to, "circuit opened: instance ejected");
                        self.wake_when_open_ends(now);
                    } else {
                        tracing::info!(instance = %self.id, from, to, "circuit changed");
                    }
                }
            }
        }
        self.refresh(now);
    }

    /// Re-evaluates the cell when the open period ends, so the instance gets its
    /// half-open trials at once instead of at the next probe.
    fn wake_when_open_ends(&self, now: Instant) {
        let until = match self.state.lock().circuit(now) {
            Circuit::Open { until } => until,
            _ => return,
        };
        let me = self.me.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
                if let Some(cell) = me.upgrade() {
                    cell.refresh(Instant::now());
                }
            });
        }
    }

    fn refresh(&self, now: Instant) {
        let flags = Flags::of(&self.state.lock(), now);
        self.publish(flags);
    }

    /// Caches `flags` for the lock-free readers; a change wakes the route rebuild.
    fn publish(&self, flags: Flags) {
        let Flags {
            routable,
            awaiting,
            score,
        } = flags;
        let was = self.routable.swap(routable, Ordering::Relaxed);
        let was_awaiting = self.awaiting_restart.swap(awaiting, Ordering::Relaxed);
        let old_bucket = self.score_bucket.swap(bucket(score), Ordering::Relaxed);
        if was != routable || was_awaiting != awaiting || old_bucket != bucket(score) {
            self.shared.generation.send_modify(|g| *g += 1);
        }
    }
}

impl std::fmt::Debug for HealthCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCell")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What the request path reads without locking, as of one moment.
struct Flags {
    routable: bool,
    awaiting: bool,
    score: HealthScore,
}

impl Flags {
    fn of(state: &InstanceHealth, now: Instant) -> Self {
        Flags {
            routable: state.is_routable(now),
            awaiting: state.awaits_restart(now),
            score: state.score(),
        }
    }
}

/// Scores in 5% buckets: smaller moves do not rebuild routes.
fn bucket(score: HealthScore) -> u8 {
    // Scores are clamped to 0..=1, so this is 0..=20.
    (score.get() * 20.0).round() as u8
}

/// The circuit enum is re-exported for callers that match on it.
pub type CircuitState = Circuit;
