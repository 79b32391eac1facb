//! Health checking for the MCP gateway: is this instance fit to receive traffic?
//!
//! - [`InstanceHealth`]: a pure state machine per instance. Active probe results move
//!   its status with rise/fall thresholds; live-request outcomes drive a circuit
//!   breaker (closed → open → half-open → closed) whose open period doubles on repeated
//!   ejection; both feed a health score (recent success ratio × latency factor).
//! - [`HealthBoard`] / [`HealthCell`]: the published state. The request path reads a
//!   cached routable flag and asks the breaker for permission; a change signal tells the
//!   server to rebuild its balancer. [`HealthCell::on_link`] takes what a supervised
//!   transport reports (a stdio child down and restarting, or back).
//! - [`spawn_checker`]: one jittered probing task per instance (`ping`, or
//!   `server/discover` for 2026-07-28 upstreams, `tools/list`, or an HTTP GET path).
//! - [`RetryBudget`]: caps retries at a fraction of first attempts.
//! - [`AdmissionGate`]: caps the requests one instance serves at once, with a bounded
//!   wait queue; overflow is refused at once.
//!
//! ```
//! use std::time::Duration;
//! use gateway_core::{HealthStatus, InstanceId};
//! use gateway_health::{HealthBoard, HealthPolicy, Outcome};
//!
//! let board = HealthBoard::new(HealthPolicy::default());
//! let cell = board.cell(&InstanceId::parse("a")?, HealthStatus::Unknown);
//! for _ in 0..3 {
//!     assert!(cell.try_acquire());
//!     cell.report(Outcome::Failure, Duration::from_millis(5));
//! }
//! assert!(!cell.is_routable(), "three failures in a row open the circuit");
//! assert_eq!(cell.snapshot().circuit, "open");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod board;
mod budget;
mod checker;
mod gate;
mod policy;
mod probe;
mod state;

pub use board::{CheckRecord, CircuitState, Counters, HealthBoard, HealthCell, HealthSnapshot};
pub use budget::RetryBudget;
pub use checker::{CheckConfig, CheckerHandle, ProbeNow, spawn_checker};
pub use gate::{AdmissionGate, Admitted, Refusal};
pub use policy::HealthPolicy;
pub use probe::probe;
pub use state::{Circuit, CircuitPosition, InstanceHealth, LinkHealth, Outcome, Transition};
