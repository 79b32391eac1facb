//! [`Connections`]: the open 2024-11-05 HTTP+SSE connections of this replica, by
//! connection id, and the places they hold under the connection caps (per replica, and
//! per principal with auth on).

use std::{collections::HashMap, sync::Arc};

use axum::{body::Bytes, http::StatusCode};
use tokio::sync::mpsc;

use super::{
    backlog::{Backlog, Place},
    quota::{Permit, Quota},
    reply::Refusal,
};
use crate::config::McpLimits;

/// Seconds a refused client is told to wait before a new connection.
const RETRY_CONNECT_SECS: u32 = 5;

/// Open connections and their places.
#[derive(Default)]
pub(crate) struct Connections {
    by_id: parking_lot::Mutex<HashMap<String, Connection>>,
    total: Quota<()>,
    per_principal: Quota<Arc<str>>,
}

/// One open connection: where its answers go, and what it holds unread.
pub(super) struct Connection {
    pub(super) template: Arc<str>,
    pub(super) actor: Option<String>,
    pub(super) tx: mpsc::Sender<Queued>,
    pub(super) backlog: Arc<Backlog>,
}

/// An answer on its way to the stream, holding its place in the connection's backlog
/// until the stream takes it.
pub(super) struct Queued {
    pub(super) message: Bytes,
    pub(super) _place: Place,
}

/// A connection's places under the replica's and (auth on) its principal's caps.
pub(super) type Places = (Permit<()>, Option<Permit<Arc<str>>>);

impl Connections {
    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.by_id.lock().len()
    }

    /// A place under the replica's and (with auth on, `actor`) the principal's caps, or
    /// the refusal (503 / 429, `Retry-After`).
    pub(super) fn take_places(
        &self,
        limits: &McpLimits,
        actor: Option<&str>,
    ) -> Result<Places, Refusal> {
        let max = limits.sse_max_connections_per_principal;
        let own = match actor {
            Some(actor) => {
                let Some(own) = self.per_principal.try_take(Arc::from(actor), max) else {
                    return Err(Refusal::transport(
                        StatusCode::TOO_MANY_REQUESTS,
                        format!(
                            "Too Many Requests: you already hold {max} open HTTP+SSE \
                             connections, the most one principal may \
                             (MCP_GATEWAY_SSE_MAX_CONNECTIONS_PER_PRINCIPAL)"
                        ),
                    )
                    .retry_after(RETRY_CONNECT_SECS));
                };
                Some(own)
            }
            None => None,
        };
        let Some(total) = self.total.try_take((), limits.sse_max_connections) else {
            return Err(Refusal::transport(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable: this replica holds its maximum of HTTP+SSE connections \
                 (MCP_GATEWAY_SSE_MAX_CONNECTIONS)",
            )
            .retry_after(RETRY_CONNECT_SECS));
        };
        Ok((total, own))
    }

    pub(super) fn insert(&self, id: String, connection: Connection) {
        self.by_id.lock().insert(id, connection);
    }

    /// Forgets a connection: new messages for it get 404, and its sender is dropped.
    pub(super) fn remove(&self, id: &str) {
        self.by_id.lock().remove(id);
    }

    /// Where answers to connection `id` go, if it is open on `template` for `actor`.
    pub(super) fn sender(
        &self,
        id: &str,
        template: &str,
        actor: Option<&str>,
    ) -> Option<(mpsc::Sender<Queued>, Arc<Backlog>)> {
        let connections = self.by_id.lock();
        let c = connections.get(id)?;
        (*c.template == *template && c.actor.as_deref() == actor)
            .then(|| (c.tx.clone(), c.backlog.clone()))
    }
}
