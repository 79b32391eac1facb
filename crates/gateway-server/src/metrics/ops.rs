//! Operation histograms in the MCP semantic conventions: [`ServerOps`]
//! (`mcp_server_operation_duration_seconds`, one observation per relayed client
//! request) and [`ClientOps`] (`mcp_client_operation_duration_seconds`, one per
//! upstream attempt, kept on the instance's handle).
//!
//! A label set is a position in a fixed array whose histograms are allocated on first
//! use, so recording costs a lookup, a bucket search and two atomic additions, and an
//! idle label set costs a null pointer.

use std::{collections::HashMap, sync::Arc, sync::OnceLock, time::Duration};

use gateway_core::mcp::Method;
use parking_lot::RwLock;

use super::{
    histogram::Histogram,
    labels::{CLIENT_OUTCOMES, Interface, METHODS, SERVER_OUTCOMES, method_index},
};

/// Histograms allocated on first use, by index.
pub(crate) struct Slots(Box<[OnceLock<Box<Histogram>>]>);

impl Slots {
    fn new(len: usize) -> Self {
        Self((0..len).map(|_| OnceLock::new()).collect())
    }

    fn observe(&self, i: usize, elapsed: Duration) {
        if let Some(slot) = self.0.get(i) {
            slot.get_or_init(Box::default).observe(elapsed);
        }
    }

    /// The histograms used so far, with their index.
    pub(crate) fn used(&self) -> impl Iterator<Item = (usize, &Histogram)> {
        self.0
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.get().map(|h| (i, &**h)))
    }
}

// === impl ClientOps ===

/// One instance's upstream attempts, by method and outcome.
pub(crate) struct ClientOps(Slots);

impl Default for ClientOps {
    fn default() -> Self {
        Self::new(true)
    }
}

impl ClientOps {
    /// Recording attempts, or (`enabled` false) ignoring them.
    pub(crate) fn new(enabled: bool) -> Self {
        let len = if enabled {
            METHODS.len() * CLIENT_OUTCOMES.len()
        } else {
            0
        };
        Self(Slots::new(len))
    }

    /// Records an attempt; `outcome` indexes [`CLIENT_OUTCOMES`].
    pub(crate) fn record(&self, method: &Method, outcome: usize, elapsed: Duration) {
        let i = method_index(method) * CLIENT_OUTCOMES.len() + outcome;
        self.0.observe(i, elapsed);
    }

    /// `(method, error_type, histogram)` of every label set used.
    pub(crate) fn used(&self) -> impl Iterator<Item = (&'static str, &'static str, &Histogram)> {
        self.0.used().map(|(i, h)| {
            let n = CLIENT_OUTCOMES.len();
            (METHODS[i / n], CLIENT_OUTCOMES[i % n], h)
        })
    }
}

// === impl ServerOps ===

/// Most templates with histograms of their own; operations on further ones are
/// recorded under [`OVERFLOW`] (templates come and go with registrations).
const MAX_TEMPLATES: usize = 4096;
/// The `template` label past [`MAX_TEMPLATES`].
pub(crate) const OVERFLOW: &str = "_overflow";

/// Relayed client requests, per template, method, interface and outcome.
#[derive(Default)]
pub(crate) struct ServerOps {
    templates: RwLock<HashMap<Box<str>, Arc<Slots>>>,
}

fn server_slots() -> Slots {
    Slots::new(METHODS.len() * Interface::ALL.len() * SERVER_OUTCOMES.len())
}

impl ServerOps {
    /// Records one relayed request; `outcome` indexes [`SERVER_OUTCOMES`].
    pub(crate) fn record(
        &self,
        template: &str,
        method: &Method,
        interface: Interface,
        outcome: usize,
        elapsed: Duration,
    ) {
        let i = (method_index(method) * Interface::ALL.len() + interface.index())
            * SERVER_OUTCOMES.len()
            + outcome;
        let found = self.templates.read().get(template).cloned();
        let slots = match found {
            Some(slots) => slots,
            None => self.insert(template),
        };
        slots.observe(i, elapsed);
    }

    /// The slots of a template seen for the first time (or of [`OVERFLOW`]).
    #[cold]
    fn insert(&self, template: &str) -> Arc<Slots> {
        let mut map = self.templates.write();
        let key = if map.len() >= MAX_TEMPLATES && !map.contains_key(template) {
            OVERFLOW
        } else {
            template
        };
        map.entry(key.into())
            .or_insert_with(|| Arc::new(server_slots()))
            .clone()
    }

    /// Every used label set: `(template, method, interface, error_type, histogram)`,
    /// templates sorted.
    pub(crate) fn each(
        &self,
        mut f: impl FnMut(&str, &'static str, &'static str, &'static str, &Histogram),
    ) {
        let mut templates: Vec<_> = self
            .templates
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        templates.sort_by(|a, b| a.0.cmp(&b.0));
        let (n_out, n_if) = (SERVER_OUTCOMES.len(), Interface::ALL.len());
        for (template, slots) in &templates {
            for (i, h) in slots.used() {
                let outcome = SERVER_OUTCOMES[i % n_out];
                let interface = Interface::ALL[(i / n_out) % n_if].as_str();
                let method = METHODS[i / n_out / n_if];
                f(template, method, interface, outcome, h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_round_trip() {
        let ops = ServerOps::default();
        let ms = Duration::from_millis(1);
        ops.record("a", &Method::ToolsCall, Interface::LegacySse, 2, ms);
        ops.record("a", &Method::ToolsCall, Interface::LegacySse, 2, ms);
        ops.record("b", &Method::parse("x"), Interface::Rest, 0, ms);
        let mut seen = Vec::new();
        ops.each(|t, m, i, o, h| seen.push((t.to_owned(), m, i, o, h.count())));
        assert_eq!(
            seen,
            [
                ("a".to_owned(), "tools/call", "legacy_sse", "timeout", 2),
                ("b".to_owned(), "other", "rest", "", 1)
            ]
        );
        let client = ClientOps::default();
        client.record(&Method::PromptsGet, 8, ms);
        let used: Vec<_> = client.used().map(|(m, o, h)| (m, o, h.count())).collect();
        assert_eq!(used, [("prompts/get", "unsent", 1)]);
    }
}
