//! Dedicated upstream sessions: a template in `dedicated` mode gives every client session
//! its own upstream connection (an HTTP session, or a stdio child process) opened with
//! the client's own capabilities, so stateful servers keep per-client state and can send
//! server-to-client requests (sampling, elicitation, roots).
//!
//! Server-to-client requests get gateway ids (`gw-s2c-{n}`), so several upstream
//! requests in flight never collide; the client's answer is routed back to the upstream
//! with the upstream's own id. Messages go on the session's most recent open stream (a
//! POST's SSE response, else the GET stream) and wait in a small buffer when none is open.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use gateway_core::{
    InstanceId,
    jsonrpc::{Message, Notification, Outcome, Request, RequestId, Response},
};
use gateway_transport::{CallOptions, ServerMessage, Upstream};
use serde_json::value::RawValue;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{error::ApiError, registry::TemplateRoute, state::AppState};

/// Server messages kept while the client has no stream open.
const PENDING_LIMIT: usize = 64;

/// Where a session's server-initiated messages go.
#[derive(Default)]
pub(crate) struct Outbox {
    /// Open streams, most recent last.
    sinks: Vec<(u64, mpsc::Sender<String>)>,
    pending: VecDeque<String>,
    next_sink: u64,
}

impl Outbox {
    /// Registers an open stream; buffered messages go to it at once.
    pub(crate) fn attach(&mut self, tx: mpsc::Sender<String>) -> u64 {
        self.next_sink += 1;
        while let Some(message) = self.pending.pop_front() {
            if tx.try_send(message).is_err() {
                break;
            }
        }
        self.sinks.push((self.next_sink, tx));
        self.next_sink
    }

    pub(crate) fn detach(&mut self, id: u64) {
        self.sinks.retain(|(i, _)| *i != id);
    }

    fn deliver(&mut self, message: String) {
        self.sinks.retain(|(_, tx)| !tx.is_closed());
        if let Some((_, tx)) = self.sinks.last()
            && tx.try_send(message.clone()).is_ok()
        {
            return;
        }
        if self.pending.len() == PENDING_LIMIT {
            tracing::warn!("client has no open stream; dropping the oldest server message");
            self.pending.pop_front();
        }
        self.pending.push_back(message);
    }
}

/// Counts dedicated sessions per template against `max_sessions`.
#[derive(Default)]
pub(crate) struct SessionCounts(parking_lot::Mutex<HashMap<Arc<str>, Arc<AtomicUsize>>>);

impl SessionCounts {
    fn reserve(&self, template: &Arc<str>, max: usize) -> Option<Slot> {
        let counter = self.0.lock().entry(template.clone()).or_default().clone();
        let taken = counter.fetch_add(1, Ordering::AcqRel);
        if taken >= max {
            counter.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Slot(counter))
    }
}

/// One taken place under `max_sessions`, given back on drop.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
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
    Api(ApiError),
}

impl Dedicated {
    /// Opens an upstream for one client session on an instance of `route` (the pinned
    /// one if it still exists, else the balancer's choice), declaring `capabilities`.
    pub(crate) async fn open(
        state: &AppState,
        route: &TemplateRoute,
        pinned: Option<&str>,
        capabilities: Option<&RawValue>,
        outbox: Arc<parking_lot::Mutex<Outbox>>,
    ) -> Result<Arc<Dedicated>, OpenError> {
        let template: Arc<str> = Arc::from(route.name.as_str());
        let max = usize::try_from(route.settings.max_sessions()).unwrap_or(usize::MAX);
        let slot = state
            .mcp
            .dedicated_counts
            .reserve(&template, max)
            .ok_or(OpenError::Full(max))?;
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
