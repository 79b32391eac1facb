//! [`LinkState`]: what a supervised upstream (stdio children, a legacy SSE stream) is
//! doing right now, published so health checking can follow crashes and restarts as
//! they happen instead of discovering them through failed probes.

use std::time::{Duration, Instant};

/// The state of a supervised upstream, from [`crate::Upstream::link_state`]. With a pool
/// of stdio processes it is the pool's: connected while any process is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Opening the first link (spawn or connect, then the MCP handshake); calls wait.
    Starting,
    /// At least one link is ready for calls.
    Connected,
    /// No link is ready: the last one died or failed to open, and is re-opened after a
    /// back-off.
    Restarting {
        /// Restarts in a row (1 for the first since the link was last stable, i.e. up
        /// for longer than the longest back-off); the back-off doubles with each.
        attempt: u32,
        /// This attempt's delay before re-opening (back-off plus jitter).
        backoff: Duration,
        /// When the re-open starts (in the past once it is under way).
        next_retry: Instant,
    },
    /// Closed by [`crate::Upstream::close`]; nothing is restarted.
    Closed,
}

impl LinkState {
    /// `starting`, `connected`, `restarting` or `closed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            LinkState::Starting => "starting",
            LinkState::Connected => "connected",
            LinkState::Restarting { .. } => "restarting",
            LinkState::Closed => "closed",
        }
    }

    /// Down and being restarted: calls cannot be served until it is back.
    pub fn is_restarting(&self) -> bool {
        matches!(self, LinkState::Restarting { .. })
    }
}

/// The pool's state from its links' states: connected while any link is; else the
/// restarting link furthest into its streak; closed once every link is.
pub(crate) fn fold(links: &[LinkState]) -> LinkState {
    if links.contains(&LinkState::Connected) {
        return LinkState::Connected;
    }
    if links.iter().all(|l| *l == LinkState::Closed) {
        return LinkState::Closed;
    }
    links
        .iter()
        .filter_map(|l| match l {
            LinkState::Restarting { attempt, .. } => Some((*attempt, *l)),
            _ => None,
        })
        .max_by_key(|(attempt, _)| *attempt)
        .map_or(LinkState::Starting, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restarting(attempt: u32) -> LinkState {
        LinkState::Restarting {
            attempt,
            backoff: Duration::from_millis(100),
            next_retry: Instant::now(),
        }
    }

    #[test]
    fn a_pool_is_as_good_as_its_best_link() {
        use LinkState::{Closed, Connected, Starting};
        let (first, third) = (restarting(1), restarting(3));
        assert_eq!(fold(&[Starting]), Starting);
        assert_eq!(fold(&[first, Connected]), Connected);
        assert_eq!(fold(&[first, Starting]), first);
        assert_eq!(fold(&[first, third]), third);
        assert_eq!(fold(&[Closed, Starting]), Starting);
        assert_eq!(fold(&[Closed, Closed]), Closed);
    }
}
