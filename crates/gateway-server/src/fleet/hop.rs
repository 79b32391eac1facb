//! One hop between replicas. A dedicated MCP session or an HTTP+SSE connection lives on
//! one replica (its upstream session or its stream is there); its id names that replica
//! ([`Owner`]). Another replica that receives a request for it forwards the request there
//! once, proving with [`Hop::sign`] that it is a replica of the same fleet; [`admit`]
//! checks that proof on every incoming request before authentication runs.
//!
//! A verified hop is marked ([`Forwarded`]) so that it is never forwarded again and the
//! request is not charged twice to the caller's rate limit (the first replica charged
//! it). The client's credentials travel with it and are checked again as usual.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use gateway_auth::{HopError, HopSigner};
use gateway_transport::HttpClient;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The header a forwarded request carries (see `gateway_auth::HopSigner`).
pub(crate) const X_GATEWAY_FORWARDED: HeaderName = HeaderName::from_static("x-gateway-forwarded");
/// The MCP session header (the id a hop is bound to).
const MCP_SESSION_ID: &str = "mcp-session-id";

/// The replica that holds a session: where to reach it, its name, and which run of it
/// (a restarted replica has a new `boot`, and the sessions of its previous run are gone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Owner {
    /// Base URL other replicas use (`MCP_GATEWAY_ADVERTISE_URL`).
    #[serde(rename = "u")]
    pub(crate) url: String,
    #[serde(rename = "r")]
    pub(crate) replica: String,
    /// Random per process start.
    #[serde(rename = "b")]
    pub(crate) boot: String,
}

impl Owner {
    /// This process: a fresh boot id.
    pub(crate) fn this_process(url: String, replica: String) -> Owner {
        let boot = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        Owner { url, replica, boot }
    }
}

/// Where a session's requests are served.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// Here (a shared-mode session, or one this process owns).
    Here,
    /// On another replica.
    There(Owner),
    /// Nowhere: its owner was this replica in an earlier run (restarted).
    Gone,
}

/// This replica's identity, the fleet's forwarding key, and the client that carries
/// forwarded requests.
pub(crate) struct Hop {
    pub(crate) me: Owner,
    signer: HopSigner,
    /// What `/gateway/stats` reports of forwarding (this replica's counts).
    pub(crate) counts: HopCounts,
    /// Built on first use (most replicas of a shared-mode fleet never forward).
    client: OnceLock<HttpClient>,
    /// Largest request body forwarded (the server's request size limit).
    pub(crate) max_body: usize,
}

/// How long to wait for a connection to a session's owner before giving up on it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Forwarding counters.
#[derive(Default)]
pub(crate) struct HopCounts {
    /// Requests this replica forwarded to a session's owner.
    pub(crate) sent: AtomicU64,
    /// Forwarded requests this replica accepted.
    pub(crate) received: AtomicU64,
    /// Forwarded requests refused (bad or stale `X-Gateway-Forwarded`).
    pub(crate) refused: AtomicU64,
    /// Requests answered 404 because their owner was unreachable or restarted.
    pub(crate) owner_gone: AtomicU64,
}

impl HopCounts {
    /// Counts one more.
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `{"sent", "received", "refused", "owner_gone"}`.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "sent": load(&self.sent),
            "received": load(&self.received),
            "refused": load(&self.refused),
            "owner_gone": load(&self.owner_gone),
        })
    }
}

/// Marks a request another replica forwarded here, verified.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Forwarded;

impl Hop {
    pub(crate) fn new(me: Owner, signer: HopSigner, max_body: usize) -> Hop {
        Hop {
            me,
            signer,
            counts: HopCounts::default(),
            client: OnceLock::new(),
            max_body,
        }
    }

    /// The pooled client for requests to other replicas.
    pub(crate) fn client(&self) -> &HttpClient {
        self.client.get_or_init(|| HttpClient::new(CONNECT_TIMEOUT))
    }

    /// Where a session owned by `owner` (`None`: any replica serves it) is served.
    pub(crate) fn place(&self, owner: Option<&Owner>) -> Place {
        match owner {
            None => Place::Here,
            Some(o) if o.boot == self.me.boot && o.replica == self.me.replica => Place::Here,
            // The same replica (by name or address) in an earlier run.
            Some(o) if o.replica == self.me.replica || o.url == self.me.url => Place::Gone,
            Some(o) => Place::There(o.clone()),
        }
    }

    /// The `X-Gateway-Forwarded` value for a request this replica forwards now.
    pub(crate) fn sign(&self, method: &str, path: &str, session: &str) -> Option<HeaderValue> {
        let value = self
            .signer
            .sign(method, path, session, &self.me.replica, unix_now());
        HeaderValue::from_str(&value).ok()
    }

    /// Checks a request's header; returns the sender's replica id.
    fn verify(&self, header: &HeaderValue, request: &Request) -> Result<String, HopError> {
        let header = header.to_str().map_err(|_| HopError::Malformed)?;
        let session = session_of(request).unwrap_or_default();
        self.signer
            .verify(
                header,
                request.method().as_str(),
                request.uri().path(),
                session,
                unix_now(),
            )
            .map(str::to_owned)
    }
}

/// The session a request names: `Mcp-Session-Id`, or the HTTP+SSE transport's
/// `?session_id=` (taken as sent: the gateway's ids need no percent-decoding).
pub(crate) fn session_of(request: &Request) -> Option<&str> {
    if let Some(id) = request.headers().get(MCP_SESSION_ID) {
        return id.to_str().ok();
    }
    request
        .uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("session_id="))
}

/// Runs before authentication on every request: a request with `X-Gateway-Forwarded`
/// (any value, even empty) is a hop and must prove it (403 `forward_refused` when the
/// MAC is wrong, for another request, or older than 30 s); a proven one is marked
/// [`Forwarded`]. Clients cannot set the mark themselves: it is an extension, not a
/// header.
pub(crate) async fn admit(
    State(hop): State<Arc<Hop>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(header) = request.headers().get(X_GATEWAY_FORWARDED).cloned() else {
        return next.run(request).await;
    };
    match hop.verify(&header, &request) {
        Ok(from) => {
            tracing::debug!(from = %from, "request forwarded by another replica");
            HopCounts::add(&hop.counts.received);
            request.extensions_mut().insert(Forwarded);
            next.run(request).await
        }
        Err(e) => {
            tracing::warn!(error = %e, path = %request.uri().path(), "forwarded request refused");
            HopCounts::add(&hop.counts.refused);
            ApiError::ForwardRefused(e).into_response()
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(replica: &str, url: &str) -> Hop {
        Hop::new(
            Owner::this_process(url.into(), replica.into()),
            HopSigner::from_secret(&[1u8; 32]),
            1024,
        )
    }

    #[test]
    fn places() {
        let a = hop("a", "http://a:1");
        let b = hop("b", "http://b:1");
        assert_eq!(a.place(None), Place::Here);
        assert_eq!(a.place(Some(&a.me)), Place::Here);
        assert_eq!(a.place(Some(&b.me)), Place::There(b.me.clone()));
        // A restarted `a` (same name and address, new boot): its old sessions are gone.
        let a2 = hop("a", "http://a:1");
        assert_ne!(a.me.boot, a2.me.boot);
        assert_eq!(a2.place(Some(&a.me)), Place::Gone);
        // Another replica now at a's address.
        let c = hop("c", "http://a:1");
        assert_eq!(c.place(Some(&a.me)), Place::Gone);
    }

    #[test]
    fn session_of_header_or_query() {
        let r = Request::builder()
            .uri("/mcp/t")
            .header("mcp-session-id", "abc")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(session_of(&r), Some("abc"));
        let r = Request::builder()
            .uri("/mcp/t/messages?x=1&session_id=def")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(session_of(&r), Some("def"));
        let r = Request::builder()
            .uri("/mcp/t")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(session_of(&r), None);
    }
}
