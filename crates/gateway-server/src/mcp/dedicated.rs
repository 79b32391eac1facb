//! Dedicated upstream sessions: a template in `dedicated` mode gives every client session
//! its own upstream connection (an HTTP session, or a stdio child process) opened with
//! the client's own capabilities, so stateful servers keep per-client state and can send
//! server-to-client requests (sampling, elicitation, roots).
//!
//! Server-to-client requests get gateway ids (`gw-s2c-{n}`), so several upstream
//! requests in flight never collide; the client's answer is routed back to the upstream
//! with the upstream's own id. Messages go on the session's most recent open stream (a
//! POST's SSE response, else the GET stream) and wait in a small buffer when none is open
//! or the open one is not read (at most 64 messages and 4 MiB; the oldest are dropped).
//!
//! Opening one takes a place under the template's `max_sessions` and, with auth on, one
//! under the principal's own cap (`MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL`, per
//! template), so one principal cannot take every place.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use gateway_core::{
    InstanceId,
    jsonrpc::{ErrorObject, Message, Notification, Outcome, Request, RequestId, Response, code},
};
use gateway_transport::{CallOptions, ServerMessage, Upstream};
use serde_json::value::RawValue;
use tokio::{sync::mpsc, task::JoinHandle};

use super::quota::{Permit, Quota};
use crate::{error::ApiError, registry::TemplateRoute, state::AppState};

/// Server messages kept while the client has no stream open (or does not read it).
const PENDING_LIMIT: usize = 64;
/// Their bytes (the newest message is kept whatever its size).
const PENDING_BYTES_LIMIT: usize = 4 * 1024 * 1024;

/// Where a session's server-initiated messages go.
#[derive(Default)]
pub(crate) struct Outbox {
    /// Open streams, most recent last.
    sinks: Vec<(u64, mpsc::Sender<String>)>,
    pending: VecDeque<String>,
    pending_bytes: usize,
    next_sink: u64,
}

impl Outbox {
    /// Registers an open stream; buffered messages go to it at once.
    pub(crate) fn attach(&mut self, tx: mpsc::Sender<String>) -> u64 {
        self.next_sink += 1;
        self.sinks.push((self.next_sink, tx));
        self.flush();
        self.next_sink
    }

    pub(crate) fn detach(&mut self, id: u64) {
        self.sinks.retain(|(i, _)| *i != id);
    }

    /// Moves waiting messages, oldest first, to the most recent open stream while it
    /// has room.
    fn flush(&mut self) {
        self.sinks.retain(|(_, tx)| !tx.is_closed());
        let Some((_, tx)) = self.sinks.last() else {
            return;
        };
        while let Some(message) = self.pending.pop_front() {
            self.pending_bytes -= message.len();
            if let Err(e) = tx.try_send(message) {
                // Full (the client is not reading): it waits, first in line.
                let message = e.into_inner();
                self.pending_bytes += message.len();
                self.pending.push_front(message);
                break;
            }
        }
    }

    fn deliver(&mut self, message: String) {
        self.pending_bytes += message.len();
        self.pending.push_back(message);
        self.flush();
        let mut dropped = 0usize;
        while self.pending.len() > PENDING_LIMIT
            || (self.pending_bytes > PENDING_BYTES_LIMIT && self.pending.len() > 1)
        {
            if let Some(oldest) = self.pending.pop_front() {
                self.pending_bytes -= oldest.len();
                dropped += 1;
            }
        }
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "client reads no stream; oldest server messages dropped"
            );
        }
    }
}

/// Counts dedicated sessions per template (against `max_sessions`) and per principal
/// and template (against `MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL`).
#[derive(Default)]
pub(crate) struct SessionCounts {
    per_template: Quota<Arc<str>>,
    per_principal: Quota<(Arc<str>, Arc<str>)>,
}

impl SessionCounts {
    fn reserve(
        &self,
        template: &Arc<str>,
        actor: Option<&str>,
        max: usize,
        max_per_principal: usize,
    ) -> Result<Slot, OpenError> {
        let own = match actor {
            Some(actor) => Some(
                self.per_principal
                    .try_take((template.clone(), Arc::from(actor)), max_per_principal)
                    .ok_or(OpenError::PrincipalFull(max_per_principal))?,
            ),
            None => None,
        };
        let total = self
            .per_template
            .try_take(template.clone(), max)
            .ok_or(OpenError::Full(max))?;
        Ok(Slot {
            _total: total,
            _own: own,
        })
    }
}

/// One taken place under `max_sessions` and under the principal's cap, given back on drop.
struct Slot {
    _total: Permit<Arc<str>>,
    _own: Option<Permit<(Arc<str>, Arc<str>)>>,
}

/// A client session's own upstream.
pub(crate) struct Dedicated {
    pub(crate) upstream: Upstream,
    pub(crate) instance: InstanceId,
    timeout: Duration,
    /// Gateway id (JSON text) -> the upstream's id of a server-to-client request.
    s2c: parking_lot::Mutex<HashMap<String, RequestId>>,
    next_s2c: AtomicU64,
    forwarder: parking_lot::Mutex<Option<JoinHandle<()>>>,
    _slot: Slot,
}

impl Drop for Dedicated {
    fn drop(&mut self) {
        if let Some(task) = self.forwarder.lock().take() {
            task.abort();
        }
        let upstream = self.upstream.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { upstream.close().await });
        }
        tracing::info!(instance = %self.instance, "dedicated upstream session closed");
    }
}

/// Why a dedicated upstream could not be opened.
pub(crate) enum OpenError {
    /// `max_sessions` reached.
    Full(usize),
    /// The principal holds its own maximum on this template.
    PrincipalFull(usize),
    Api(ApiError),
}

impl OpenError {
    /// The JSON-RPC error the client gets.
    pub(crate) fn into_outcome(self) -> Outcome {
        match self {
            OpenError::Full(max) => super::dispatch::error(
                code::UPSTREAM_UNAVAILABLE,
                format!("this template's {max} dedicated sessions are all in use; try again later"),
            ),
            OpenError::PrincipalFull(max) => Outcome::Error(gateway_core::jsonrpc::to_raw(
                &ErrorObject::new(
                    code::UPSTREAM_UNAVAILABLE,
                    format!(
                        "you already hold {max} dedicated sessions on this template, the most \
                         one principal may (MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL); close one \
                         with DELETE or let it expire"
                    ),
                )
                .with_data(serde_json::json!({"limit": max, "per": "principal"})),
            )),
            OpenError::Api(e) => super::dispatch::api_error(&e),
        }
    }
}

impl Dedicated {
    /// Opens an upstream for one client session on an instance of `route` (the pinned
    /// one if it still exists, else the balancer's choice), declaring `capabilities`; the
    /// place it takes is counted against `actor` (the principal, with auth on).
    pub(crate) async fn open(
        state: &AppState,
        route: &TemplateRoute,
        actor: Option<&str>,
        pinned: Option<&str>,
        capabilities: Option<&RawValue>,
        outbox: Arc<parking_lot::Mutex<Outbox>>,
    ) -> Result<Arc<Dedicated>, OpenError> {
        let template: Arc<str> = Arc::from(route.name.as_str());
        let max = usize::try_from(route.settings.max_sessions()).unwrap_or(usize::MAX);
        let slot = state.mcp.dedicated_counts.reserve(
            &template,
            actor,
            max,
            state.mcp.limits.max_dedicated_per_principal,
        )?;
        let handle = pinned
            .and_then(|p| route.instances.iter().find(|h| h.instance.id.as_str() == p))
            .or_else(|| route.balancer.select().next().map(|e| e.value()))
            .ok_or_else(|| OpenError::Api(ApiError::NoInstances(route.name.to_string())))?
            .clone();
        let caps: serde_json::Value = capabilities
            .and_then(|c| serde_json::from_str(c.get()).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        // The client speaks the session era (dedicated sessions are legacy sessions), so
        // the upstream does too: server-to-client requests, logging levels and resource
        // subscriptions exist only there.
        // The template's connector: its upstream TLS settings apply here too.
        let connector = route.connector.with_options(|o| {
            o.era = gateway_transport::EraPreference::Legacy;
            o.client_capabilities = caps;
            o.stdio_processes = std::num::NonZeroUsize::MIN;
        });
        let upstream = connector
            .connect(handle.instance.id.clone(), &handle.instance.spec)
            .map_err(|e| {
                OpenError::Api(ApiError::Unavailable {
                    template: route.name.to_string(),
                    reason: e.to_string(),
                })
            })?;
        let dedicated = Arc::new(Dedicated {
            upstream: upstream.clone(),
            instance: handle.instance.id.clone(),
            timeout: route.settings.request_timeout(),
            s2c: parking_lot::Mutex::new(HashMap::new()),
            next_s2c: AtomicU64::new(0),
            forwarder: parking_lot::Mutex::new(None),
            _slot: slot,
        });
        // Subscribe before the handshake: servers may ask for roots right after it.
        let mut rx = upstream.subscribe();
        let weak = Arc::downgrade(&dedicated);
        let task = tokio::spawn(async move {
            loop {
                let message = match rx.recv().await {
                    Ok(m) => m,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "client too slow for server messages");
                        continue;
                    }
                    Err(_) => return,
                };
                let Some(this) = weak.upgrade() else { return };
                let text = match message {
                    ServerMessage::Notification(n) => Message::from(n).to_vec(),
                    ServerMessage::Request(r) => Message::from(this.outgoing(r)).to_vec(),
                };
                outbox
                    .lock()
                    .deliver(String::from_utf8(text).unwrap_or_default());
            }
        });
        *dedicated.forwarder.lock() = Some(task);
        if let Err(e) = upstream.ready().await {
            return Err(OpenError::Api(ApiError::Unavailable {
                template: route.name.to_string(),
                reason: e.to_string(),
            }));
        }
        tracing::info!(instance = %dedicated.instance, "dedicated upstream session opened");
        Ok(dedicated)
    }

    /// A server-to-client request with a gateway id.
    fn outgoing(&self, mut request: Request) -> Request {
        let n = self.next_s2c.fetch_add(1, Ordering::Relaxed);
        let id = RequestId::String(format!("gw-s2c-{n}").into());
        let original = std::mem::replace(&mut request.id, id.clone());
        self.s2c.lock().insert(id.to_json(), original);
        request
    }

    /// Routes the client's answer to a server-to-client request back upstream; false
    /// when the id is not one this session issued.
    pub(crate) async fn answer(&self, response: Response) -> bool {
        let Some(id) = &response.id else { return false };
        let Some(original) = self.s2c.lock().remove(&id.to_json()) else {
            return false;
        };
        let response = Response {
            id: Some(original),
            outcome: response.outcome,
        };
        if let Err(e) = self.upstream.send_response(response).await {
            tracing::warn!(instance = %self.instance, error = %e, "could not return a client answer upstream");
        }
        true
    }

    /// Calls the session's upstream.
    pub(crate) async fn call(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        progress: Option<mpsc::Sender<Notification>>,
    ) -> Outcome {
        let request = Request::new(RequestId::Number(0), method, params);
        let options = CallOptions {
            timeout: Some(self.timeout),
            progress,
            ..CallOptions::default()
        };
        match self.upstream.call(request, options).await {
            Ok(response) => response.outcome,
            Err(e) if e.is_timeout() => super::dispatch::error(
                gateway_core::jsonrpc::code::UPSTREAM_TIMEOUT,
                format!("upstream {} timed out", self.instance),
            ),
            // Same split as the shared relay: never sent is "unavailable", sent and
            // broken is "failed".
            Err(e) if e.is_unsent() => super::dispatch::error(
                gateway_core::jsonrpc::code::UPSTREAM_UNAVAILABLE,
                e.to_string(),
            ),
            Err(e) => {
                super::dispatch::error(gateway_core::jsonrpc::code::UPSTREAM_FAILED, e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_keeps_a_bounded_backlog_when_nobody_reads() {
        let mut outbox = Outbox::default();
        for n in 0..200 {
            outbox.deliver(format!("m{n}"));
        }
        assert_eq!(outbox.pending.len(), PENDING_LIMIT);
        assert_eq!(outbox.pending.front().map(String::as_str), Some("m136"));
        // Large messages: bounded in bytes too, the newest kept.
        let big = "x".repeat(PENDING_BYTES_LIMIT / 3);
        for _ in 0..10 {
            outbox.deliver(big.clone());
        }
        assert!(outbox.pending_bytes <= PENDING_BYTES_LIMIT);
        assert_eq!(
            outbox.pending_bytes,
            outbox.pending.iter().map(String::len).sum::<usize>()
        );
        let huge = "y".repeat(PENDING_BYTES_LIMIT * 2);
        outbox.deliver(huge);
        assert_eq!(outbox.pending.len(), 1, "only the newest, however large");
    }

    #[test]
    fn a_stream_that_is_not_read_leaves_the_rest_pending() {
        let mut outbox = Outbox::default();
        for n in 0..5 {
            outbox.deliver(format!("m{n}"));
        }
        let (tx, mut rx) = mpsc::channel(2);
        outbox.attach(tx);
        assert_eq!(outbox.pending.len(), 3, "the stream took two");
        assert_eq!(rx.try_recv().ok().as_deref(), Some("m0"));
        // Room for one: the oldest waiting message takes it, and order is kept.
        outbox.deliver("m5".to_owned());
        assert_eq!(
            outbox
                .pending
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["m3", "m4", "m5"]
        );
        assert_eq!(rx.try_recv().ok().as_deref(), Some("m1"));
        assert_eq!(rx.try_recv().ok().as_deref(), Some("m2"));
    }
}
