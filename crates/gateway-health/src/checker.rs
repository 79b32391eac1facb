//! The active checker: one task per instance, probing on a jittered interval.

use std::{sync::Arc, time::Duration};

use gateway_transport::Upstream;
use tokio::{
    sync::{Notify, watch},
    task::JoinHandle,
};

use gateway_core::HealthProbe;

use crate::{HealthCell, probe::probe};

/// How an instance is probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    /// Time between probes (±10% jitter).
    pub interval: Duration,
    /// Deadline of one probe.
    pub timeout: Duration,
    /// What to send.
    pub kind: HealthProbe,
}

/// A running checker; stops when dropped.
#[derive(Debug)]
pub struct CheckerHandle {
    task: JoinHandle<()>,
    config: watch::Sender<CheckConfig>,
    wake: Arc<Notify>,
}

/// Asks a running checker for a probe now instead of at the end of its interval (e.g.
/// when a restarted stdio child is back, so it is trusted again without a long wait).
#[derive(Debug, Clone)]
pub struct ProbeNow(Arc<Notify>);

impl ProbeNow {
    /// Requests one probe as soon as the current one (if any) is done.
    pub fn request(&self) {
        self.0.notify_one();
    }
}

impl CheckerHandle {
    /// A handle that makes this checker probe at once.
    pub fn probe_now(&self) -> ProbeNow {
        ProbeNow(self.wake.clone())
    }

    /// Changes the interval, timeout or probe of a running checker.
    pub fn update(&self, config: CheckConfig) {
        self.config.send_if_modified(|c| {
            let changed = *c != config;
            *c = config;
            changed
        });
    }
}

impl Drop for CheckerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts probing `upstream`, reporting into `cell`. The first probe runs after a short
/// random delay (so a restart does not probe everything at once).
pub fn spawn_checker(
    upstream: Upstream,
    cell: Arc<HealthCell>,
    config: CheckConfig,
) -> CheckerHandle {
    let first = config
        .interval
        .min(Duration::from_millis(250))
        .mul_f64(fastrand::f64());
    let (tx, mut rx) = watch::channel(config);
    let wake = Arc::new(Notify::new());
    let woken = wake.clone();
    let task = tokio::spawn(async move {
        tokio::time::sleep(first).await;
        loop {
            let current = rx.borrow_and_update().clone();
            let result = probe(&upstream, &current.kind, current.timeout).await;
            match result {
                Ok(latency) => cell.record_probe(true, latency, None),
                Err(reason) => {
                    tracing::debug!(instance = %upstream.instance(), %reason, "health probe failed");
                    cell.record_probe(false, current.timeout, Some(reason));
                }
            }
            let jitter = 0.9 + fastrand::f64() * 0.2;
            tokio::select! {
                () = tokio::time::sleep(current.interval.mul_f64(jitter)) => {}
                () = woken.notified() => {}
                changed = rx.changed() => if changed.is_err() { break },
            }
        }
    });
    CheckerHandle {
        task,
        config: tx,
        wake,
    }
}
