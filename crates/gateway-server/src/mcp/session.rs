//! Gateway-owned MCP sessions (legacy era). The `Mcp-Session-Id` *is* the session: its
//! [`Claims`] sealed with the session key (AES-256-GCM), so any replica holding the key
//! serves any session without a shared store. Upstream session ids never reach clients:
//! in the shared mode they belong to the gateway's pooled upstream sessions.
//!
//! Each replica keeps a small in-memory entry per live session (the fast path: no
//! decryption per request; in-flight requests for cancellation; the GET stream), dropped
//! after the idle timeout. A dropped entry comes back from the sealed id on next use.
//! Entries are capped (`MCP_GATEWAY_MAX_LIVE_SESSIONS`): past the cap the least recently
//! used idle entries are dropped early (shared-mode entries before dedicated ones, whose
//! upstream closes with them); when every entry is busy (a request in flight or a GET
//! stream open) a new one is refused ([`SessionError::Overloaded`]). Ids closed with
//! DELETE are remembered in bounded memory ([`ClosedIds`]).

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use gateway_auth::SessionSealer;
use gateway_core::mcp::ProtocolVersion;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::{closed::ClosedIds, dedicated::Dedicated, outbox::Outbox};
use crate::{
    fleet::hop::{Hop, Owner, Place},
    metrics::Histogram,
};

/// What an HTTP+SSE connection id carries: the connection and the replica holding its
/// stream (sealed like session ids, so another replica can forward its messages there).
#[derive(Serialize, Deserialize)]
struct ConnectionClaims {
    /// Random connection id.
    #[serde(rename = "k")]
    connection: String,
    #[serde(rename = "o")]
    owner: Owner,
}

/// Largest client `capabilities` object kept in a session id; larger ones are dropped
/// (the id must stay a reasonable header).
const MAX_CAPABILITIES_LEN: usize = 1024;

/// What a session id carries.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// Format version.
    #[serde(rename = "f")]
    pub(crate) format: u8,
    /// The template of `/mcp/{template}`, or `None` for the aggregated `/mcp`.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub(crate) template: Option<String>,
    /// The negotiated protocol revision.
    #[serde(rename = "v")]
    pub(crate) version: String,
    /// The principal that opened the session (with auth on): nobody else may use it.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub(crate) actor: Option<String>,
    /// The client's declared capabilities (for dedicated upstream sessions).
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub(crate) capabilities: Option<Box<RawValue>>,
    /// Issued at, Unix seconds.
    #[serde(rename = "i")]
    pub(crate) issued: u64,
    /// The instance a dedicated session's upstream runs on.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub(crate) pinned: Option<String>,
    /// The replica holding a dedicated session's upstream (other replicas forward its
    /// requests there); `None` for shared-mode sessions, which any replica serves.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<Owner>,
}

impl Claims {
    pub(crate) fn new(
        template: Option<String>,
        version: ProtocolVersion,
        actor: Option<String>,
        capabilities: Option<&RawValue>,
    ) -> Self {
        Self {
            format: 1,
            template,
            version: version.as_str().to_owned(),
            actor,
            capabilities: capabilities
                .filter(|c| c.get().len() <= MAX_CAPABILITIES_LEN)
                .map(|c| c.to_owned()),
            issued: unix_now(),
            pinned: None,
            owner: None,
        }
    }
}

/// Why a session id is refused (all answered 404, so the client re-initializes).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error("unknown or invalid session id")]
    Invalid,
    #[error("session expired")]
    Expired,
    #[error("session was closed")]
    Closed,
    #[error("session belongs to another endpoint")]
    WrongEndpoint,
    #[error("session belongs to another principal")]
    WrongPrincipal,
    /// Every live entry is busy and the cap is reached (answered 503).
    #[error("this replica holds its maximum of {0} live sessions and all of them are busy")]
    Overloaded(usize),
}

/// One live session on this replica.
pub(crate) struct Live {
    pub(crate) claims: Claims,
    /// Unix milliseconds of the last use (milliseconds, so that eviction past the cap
    /// tells apart entries used within one second).
    last_seen_ms: AtomicU64,
    /// Requests in flight, by the client's JSON-RPC id (JSON text): a
    /// `notifications/cancelled` fires the sender, which drops the upstream call.
    in_flight: parking_lot::Mutex<HashMap<String, oneshot::Sender<()>>>,
    /// Whether a GET stream is open (one per session: a message goes on one stream).
    pub(crate) stream_open: AtomicBool,
    /// Server-initiated messages of a dedicated upstream, waiting for a stream.
    pub(crate) outbox: Arc<parking_lot::Mutex<Outbox>>,
    /// The session's own upstream (templates in `dedicated` mode), opened on first use.
    pub(crate) dedicated: tokio::sync::OnceCell<Arc<Dedicated>>,
}

impl Live {
    fn new(
        claims: Claims,
        outbox: Arc<parking_lot::Mutex<Outbox>>,
        dedicated: Option<Arc<Dedicated>>,
    ) -> Self {
        Self {
            claims,
            last_seen_ms: AtomicU64::new(unix_now_ms()),
            in_flight: parking_lot::Mutex::new(HashMap::new()),
            stream_open: AtomicBool::new(false),
            outbox,
            dedicated: tokio::sync::OnceCell::new_with(dedicated),
        }
    }

    fn touch(&self) {
        self.last_seen_ms.store(unix_now_ms(), Ordering::Relaxed);
    }

    fn last_seen_ms(&self) -> u64 {
        self.last_seen_ms.load(Ordering::Relaxed)
    }

    /// A request in flight or a GET stream open: the entry must stay.
    fn is_busy(&self) -> bool {
        !self.in_flight.lock().is_empty() || self.stream_open.load(Ordering::Relaxed)
    }

    /// Registers a request that `cancel` can stop; the guard unregisters it.
    pub(crate) fn track(self: &Arc<Self>, id: String) -> (oneshot::Receiver<()>, InFlight) {
        let (tx, rx) = oneshot::channel();
        self.in_flight.lock().insert(id.clone(), tx);
        (
            rx,
            InFlight {
                live: self.clone(),
                id,
            },
        )
    }

    /// Cancels the request with client id `id`, if it is in flight here.
    pub(crate) fn cancel(&self, id: &str) -> bool {
        match self.in_flight.lock().remove(id) {
            Some(tx) => tx.send(()).is_ok(),
            None => false,
        }
    }
}

/// Unregisters an in-flight request when dropped.
pub(crate) struct InFlight {
    live: Arc<Live>,
    id: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.live.in_flight.lock().remove(&self.id);
    }
}

/// Issues, opens and forgets sessions.
pub(crate) struct Sessions {
    sealer: SessionSealer,
    live: parking_lot::Mutex<HashMap<Arc<str>, Arc<Live>>>,
    /// Most live entries kept.
    max_live: usize,
    /// Ids closed with DELETE on this replica, until they would have expired anyway.
    closed: ClosedIds,
    idle_timeout: Duration,
    max_age: Duration,
    /// How long sessions lasted, from issue to DELETE or to their last use before this
    /// replica dropped them (`mcp_server_session_duration_seconds`).
    pub(crate) durations: Histogram,
}

impl Sessions {
    pub(crate) fn new(
        sealer: SessionSealer,
        idle_timeout: Duration,
        max_age: Duration,
        max_live: usize,
        max_closed: usize,
    ) -> Self {
        Self {
            sealer,
            live: parking_lot::Mutex::new(HashMap::new()),
            max_live: max_live.max(1),
            closed: ClosedIds::new(max_closed),
            idle_timeout,
            max_age,
            durations: Histogram::default(),
        }
    }

    /// Seals `claims` into a new session id and keeps it live here (with its dedicated
    /// upstream, if it has one).
    pub(crate) fn issue(
        &self,
        claims: Claims,
        outbox: Arc<parking_lot::Mutex<Outbox>>,
        dedicated: Option<Arc<Dedicated>>,
    ) -> Result<(Arc<str>, Arc<Live>), SessionError> {
        // Serialising plain data into a Vec cannot fail.
        let plain = serde_json::to_vec(&claims).unwrap_or_default();
        let id: Arc<str> = Arc::from(self.sealer.seal(&plain));
        let live = Arc::new(Live::new(claims, outbox, dedicated));
        self.insert(id.clone(), live.clone())?;
        Ok((id, live))
    }

    /// Keeps `live` under `id`, making room past the cap.
    fn insert(&self, id: Arc<str>, live: Arc<Live>) -> Result<(), SessionError> {
        let mut entries = self.live.lock();
        let mut evicted = Vec::new();
        if entries.len() >= self.max_live && !entries.contains_key(&id) {
            evicted = evict_idle(&mut entries, (self.max_live / 64).max(1));
            if evicted.is_empty() {
                return Err(SessionError::Overloaded(self.max_live));
            }
        }
        entries.insert(id, live);
        drop(entries);
        if !evicted.is_empty() {
            for live in &evicted {
                self.record_end(live, live.last_seen_ms());
            }
            tracing::debug!(
                evicted = evicted.len(),
                "live MCP sessions at their cap: least recently used idle entries dropped"
            );
        }
        // Dropped outside the lock: a dedicated upstream closes with its entry.
        drop(evicted);
        Ok(())
    }

    /// The live session for `id`, opening the sealed id when this replica has not seen
    /// it (or dropped it as idle). Checks the endpoint and the principal.
    pub(crate) fn open(
        &self,
        id: &str,
        template: Option<&str>,
        actor: Option<&str>,
    ) -> Result<Arc<Live>, SessionError> {
        let found = self.live.lock().get(id).cloned();
        let live = match found {
            Some(live) => live,
            None => {
                if self.closed.contains(id, unix_now()) {
                    return Err(SessionError::Closed);
                }
                let plain = self.sealer.open(id).map_err(|_| SessionError::Invalid)?;
                let claims: Claims =
                    serde_json::from_slice(&plain).map_err(|_| SessionError::Invalid)?;
                if claims.format != 1 {
                    return Err(SessionError::Invalid);
                }
                let live = Arc::new(Live::new(claims, Arc::default(), None));
                self.insert(Arc::from(id), live.clone())?;
                live
            }
        };
        let claims = &live.claims;
        if unix_now().saturating_sub(claims.issued) > self.max_age.as_secs() {
            self.live.lock().remove(id);
            return Err(SessionError::Expired);
        }
        if claims.template.as_deref() != template {
            return Err(SessionError::WrongEndpoint);
        }
        if claims.actor.as_deref() != actor {
            return Err(SessionError::WrongPrincipal);
        }
        live.touch();
        Ok(live)
    }

    /// Where the session `id` is served: here when this replica holds it live, when it
    /// is a shared-mode session, or when it cannot be read (the handler answers 404);
    /// else on its owner, or nowhere when the owner was this replica before a restart.
    pub(crate) fn place(&self, id: &str, hop: &Hop) -> Place {
        if self.live.lock().contains_key(id) {
            return Place::Here;
        }
        let Ok(plain) = self.sealer.open(id) else {
            return Place::Here;
        };
        match serde_json::from_slice::<Claims>(&plain) {
            Ok(claims) => hop.place(claims.owner.as_ref()),
            Err(_) => Place::Here,
        }
    }

    /// A new HTTP+SSE connection id, naming this replica as the holder of its stream.
    pub(crate) fn connection_id(&self, owner: &Owner) -> String {
        let claims = ConnectionClaims {
            connection: uuid::Uuid::new_v4().simple().to_string(),
            owner: owner.clone(),
        };
        // Serialising plain data into a Vec cannot fail.
        self.sealer
            .seal(&serde_json::to_vec(&claims).unwrap_or_default())
    }

    /// Where the HTTP+SSE connection `id` lives (here when it cannot be read: the
    /// handler answers 404).
    pub(crate) fn connection_place(&self, id: &str, hop: &Hop) -> Place {
        let Ok(plain) = self.sealer.open(id) else {
            return Place::Here;
        };
        match serde_json::from_slice::<ConnectionClaims>(&plain) {
            Ok(claims) => hop.place(Some(&claims.owner)),
            Err(_) => Place::Here,
        }
    }

    /// Ends a session on this replica (DELETE). Other replicas still accept the id until
    /// it expires: sessions are stateless by design (see the module docs).
    pub(crate) fn close(&self, id: &str, issued: u64) {
        let expires = issued.saturating_add(self.max_age.as_secs());
        if let Some(live) = self.live.lock().remove(id) {
            self.record_end(&live, unix_now_ms());
            for (_, tx) in live.in_flight.lock().drain() {
                let _ = tx.send(());
            }
        }
        self.closed.insert(id, expires);
    }

    /// Closes the dedicated upstreams of the live sessions (shutdown), so their stdio
    /// children get the shutdown ladder rather than a kill when the runtime stops.
    pub(crate) async fn close_dedicated(&self) {
        let upstreams: Vec<_> = self
            .live
            .lock()
            .values()
            .filter_map(|live| live.dedicated.get().map(|d| d.upstream().clone()))
            .collect();
        futures_util::future::join_all(upstreams.iter().map(|u| u.close())).await;
    }

    /// Drops idle entries and forgotten closures; returns how many sessions were dropped.
    pub(crate) fn reap(&self) -> usize {
        let now = unix_now();
        let now_ms = unix_now_ms();
        let idle = u64::try_from(self.idle_timeout.as_millis()).unwrap_or(u64::MAX);
        let mut live = self.live.lock();
        let before = live.len();
        live.retain(|_, s| {
            let keep = now_ms.saturating_sub(s.last_seen_ms()) <= idle || s.is_busy();
            if !keep {
                self.record_end(s, s.last_seen_ms());
            }
            keep
        });
        let reaped = before - live.len();
        drop(live);
        self.closed.purge(now);
        reaped
    }

    /// Records how long `live` lasted, until `end_ms`.
    fn record_end(&self, live: &Live, end_ms: u64) {
        let lasted = end_ms.saturating_sub(live.claims.issued.saturating_mul(1000));
        self.durations.observe(Duration::from_millis(lasted));
    }

    /// Live sessions on this replica: `(shared, dedicated)` (with an upstream of their
    /// own open).
    pub(crate) fn live_by_mode(&self) -> (usize, usize) {
        let live = self.live.lock();
        let dedicated = live.values().filter(|l| l.dedicated.initialized()).count();
        (live.len() - dedicated, dedicated)
    }

    /// Reaps every `every` until the returned handle is dropped... or forever: the task
    /// holds only a weak reference and stops when the sessions are gone.
    pub(crate) fn spawn_reaper(self: &Arc<Self>, every: Duration) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(sessions) = weak.upgrade() else {
                    return;
                };
                let n = sessions.reap();
                if n > 0 {
                    tracing::debug!(reaped = n, "idle MCP sessions dropped");
                }
            }
        });
    }
}

/// Removes up to `n` idle entries, least recently used first (entries without a
/// dedicated upstream before those with one); returns them so the caller drops them
/// outside the lock.
fn evict_idle(entries: &mut HashMap<Arc<str>, Arc<Live>>, n: usize) -> Vec<Arc<Live>> {
    let mut idle: Vec<(bool, u64, Arc<str>)> = entries
        .iter()
        .filter(|(_, live)| !live.is_busy())
        .map(|(id, live)| {
            (
                live.dedicated.initialized(),
                live.last_seen_ms(),
                id.clone(),
            )
        })
        .collect();
    let n = n.min(idle.len());
    if n == 0 {
        return Vec::new();
    }
    if n < idle.len() {
        idle.select_nth_unstable_by_key(n - 1, |(dedicated, seen, _)| (*dedicated, *seen));
    }
    idle.truncate(n);
    idle.into_iter()
        .filter_map(|(_, _, id)| entries.remove(&id))
        .collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
