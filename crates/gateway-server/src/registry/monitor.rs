//! [`Monitor`]: what watches one instance's health: its active checker and, for
//! supervised transports (stdio children, legacy SSE), a follower of the transport's
//! link state, so a crashed child is held out the moment it dies and probed the moment
//! it is back.

use std::sync::Arc;

use gateway_health::{CheckConfig, CheckerHandle, HealthCell, ProbeNow, spawn_checker};
use gateway_transport::Upstream;
use tokio::task::JoinHandle;

/// Dropping it stops the checker and the link follower.
pub(crate) struct Monitor {
    checker: CheckerHandle,
    link: Option<JoinHandle<()>>,
}

impl Monitor {
    /// Starts probing `upstream` into `cell` and following its link state, if it has one.
    pub(crate) fn start(upstream: &Upstream, cell: Arc<HealthCell>, config: CheckConfig) -> Self {
        let checker = spawn_checker(upstream.clone(), cell.clone(), config);
        let link = follow_link(upstream, cell, checker.probe_now());
        Self { checker, link }
    }

    /// Changes the checker's interval, timeout or probe.
    pub(crate) fn update(&self, config: CheckConfig) {
        self.checker.update(config);
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if let Some(task) = &self.link {
            task.abort();
        }
    }
}

/// Reports every link change to `cell`; asks for a probe when a restarted link is
/// back. Ends with the upstream (its sender goes away).
fn follow_link(
    upstream: &Upstream,
    cell: Arc<HealthCell>,
    probe: ProbeNow,
) -> Option<JoinHandle<()>> {
    let mut link = upstream.link_state()?;
    Some(tokio::spawn(async move {
        loop {
            let state = *link.borrow_and_update();
            if cell.on_link(&state) {
                probe.request();
            }
            if link.changed().await.is_err() {
                break;
            }
        }
    }))
}
