//! Dedicated upstream sessions: a template in `dedicated` mode gives every client session
//! its own upstream connection (an HTTP session, or a stdio child process) opened with
//! the client's own capabilities, so stateful servers keep per-client state and can send
//! server-to-client requests (sampling, elicitation, roots).
//!
//! Server-to-client requests get gateway ids (`gw-s2c-{n}`), so several upstream
//! requests in flight never collide; the client's answer is routed back to the upstream
//! with the upstream's own id. Messages go to the session's [`Outbox`].
//!
//! Calls go through the relay like every other (`relay::Target::Pinned`): they count in
//! the instance's health, statistics and in-flight number, and their failures are
//! answered as the relay's.
//!
//! Opening one takes a place under the template's `max_sessions` and, with auth on, one
//! under the principal's own cap (`MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL`, per
//! template), so one principal cannot take every place.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::body::Bytes;
use gateway_core::{
    InstanceId,
    jsonrpc::{Message, Request, RequestId, Response},
};
use gateway_transport::{ServerMessage, Upstream};
use serde_json::value::RawValue;
use tokio::task::JoinHandle;

use super::{
    outbox::Outbox,
    quota::{Permit, Quota},
};
use crate::{
    registry::TemplateRoute,
    relay::{Pinned, RelayError},
};

/// Counts dedicated sessions per template (against `max_sessions`) and per principal
/// and template (against `MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL`).
#[derive(Default)]
pub(crate) struct SessionCounts {
    per_template: Quota<Arc<str>>,
    per_principal: Quota<(Arc<str>, Arc<str>)>,
}

impl SessionCounts {
    /// Dedicated sessions in use, per template.
    pub(crate) fn per_template(&self) -> Vec<(Arc<str>, usize)> {
        self.per_template.snapshot()
    }

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
    /// The connection and the instance it runs on, as the relay calls it.
    pub(crate) pinned: Pinned,
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
        let upstream = self.pinned.upstream.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { upstream.close().await });
        }
        tracing::info!(instance = %self.instance(), "dedicated upstream session closed");
    }
}

/// Why a dedicated upstream could not be opened (answered in `reply::open_error`).
#[derive(Debug)]
pub(crate) enum OpenError {
    /// `max_sessions` reached.
    Full(usize),
    /// The principal holds its own maximum on this template.
    PrincipalFull(usize),
    /// No instance, or the upstream could not be reached.
    Relay(RelayError),
}

impl Dedicated {
    /// Opens an upstream for one client session on an instance of `route` (the pinned
    /// one if it still exists, else the balancer's choice), declaring `capabilities`; the
    /// place it takes in `counts` is counted against `actor` (the principal, with auth
    /// on), who may hold `max_per_principal`.
    pub(crate) async fn open(
        counts: &SessionCounts,
        max_per_principal: usize,
        route: &TemplateRoute,
        actor: Option<&str>,
        pinned: Option<&str>,
        capabilities: Option<&RawValue>,
        outbox: Arc<parking_lot::Mutex<Outbox>>,
    ) -> Result<Arc<Dedicated>, OpenError> {
        let name = route.name.as_str();
        let template: Arc<str> = Arc::from(name);
        let max = usize::try_from(route.settings.max_sessions()).unwrap_or(usize::MAX);
        let slot = counts.reserve(&template, actor, max, max_per_principal)?;
        let handle = pinned
            .and_then(|p| route.instances.iter().find(|h| h.instance.id.as_str() == p))
            .or_else(|| route.balancer.select().next().map(|e| e.value()))
            .ok_or_else(|| OpenError::Relay(RelayError::NoInstances(name.into())))?
            .clone();
        let unavailable = |cause| {
            OpenError::Relay(RelayError::Unavailable {
                template: name.into(),
                cause: Some(cause),
            })
        };
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
            .map_err(unavailable)?;
        let dedicated = Arc::new(Dedicated {
            pinned: Pinned {
                template: name.into(),
                handle,
                upstream: upstream.clone(),
                timeout: route.settings.request_timeout(),
            },
            s2c: parking_lot::Mutex::new(HashMap::new()),
            next_s2c: AtomicU64::new(0),
            forwarder: parking_lot::Mutex::new(None),
            _slot: slot,
        });
        // Subscribe before the handshake: servers may ask for roots right after it.
        let task = spawn_forwarder(&dedicated, upstream.subscribe(), outbox);
        *dedicated.forwarder.lock() = Some(task);
        upstream.ready().await.map_err(unavailable)?;
        tracing::info!(instance = %dedicated.instance(), "dedicated upstream session opened");
        Ok(dedicated)
    }

    /// The instance the session's upstream runs on.
    pub(crate) fn instance(&self) -> &InstanceId {
        &self.pinned.handle.instance.id
    }

    /// The session's own connection.
    pub(crate) fn upstream(&self) -> &Upstream {
        &self.pinned.upstream
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
        if let Err(e) = self.pinned.upstream.send_response(response).await {
            tracing::warn!(instance = %self.instance(), error = %e.report(), "could not return a client answer upstream");
        }
        true
    }
}

/// Moves the upstream's own messages to the session's outbox (server-to-client requests
/// with gateway ids), for as long as the session lives.
fn spawn_forwarder(
    dedicated: &Arc<Dedicated>,
    mut rx: tokio::sync::broadcast::Receiver<ServerMessage>,
    outbox: Arc<parking_lot::Mutex<Outbox>>,
) -> JoinHandle<()> {
    let weak = Arc::downgrade(dedicated);
    tokio::spawn(async move {
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
            let bytes = match message {
                ServerMessage::Notification(n) => Message::from(n).to_vec(),
                ServerMessage::Request(r) => Message::from(this.outgoing(r)).to_vec(),
            };
            outbox.lock().deliver(Bytes::from(bytes));
        }
    })
}
