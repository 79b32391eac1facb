//! Running as one of several replicas on a shared database (and, optionally, Redis).
//!
//! - `feed`: the change feed. Registrations, deregistrations, template settings,
//!   users, keys, revocations and role changes made on any replica (or written by
//!   `mcpp gateway register --offline`) are applied here within a second: the feed
//!   reads the database's change counter, applies each change incrementally (the
//!   registry reconciles the named template; the authenticator forgets the named user
//!   or key), and reloads everything when it lost track (a reconnect, pruned changes,
//!   a restored database). Polling is the source of truth; `wake` only shortens the wait.
//! - `wake`: what wakes the feed before its next poll: PostgreSQL `LISTEN` (the store
//!   sends `NOTIFY` in each change's transaction), or on MySQL/SQLite Redis pub/sub (this
//!   replica publishes each change it commits).
//! - [`hop`]: forwarding between replicas: who owns a dedicated session or an HTTP+SSE
//!   connection, and the signed header that proves a request was forwarded by a replica.
//! - [`Fleet`]: this replica's id and the state `/gateway/health`, `/gateway/ready` and
//!   `/gateway/stats` report.

mod feed;
pub(crate) mod hop;
mod wake;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::Instant,
};

use gateway_auth::{Authenticator, RedisLink};
use gateway_store::Store;

use crate::{config::FleetSettings, registry::Registry};

/// This replica's place in the fleet.
pub(crate) struct Fleet {
    pub(crate) replica_id: String,
    /// The shared Redis, if configured.
    pub(crate) redis: Option<Arc<RedisLink>>,
    pub(crate) feed: Arc<FeedStatus>,
}

/// What the change feed reports.
#[derive(Default)]
pub(crate) struct FeedStatus {
    /// The last change version applied.
    pub(crate) version: AtomicI64,
    /// The first catch-up after start-up is done (the routing table reflects the
    /// database as of then).
    pub(crate) synced_once: AtomicBool,
    /// When the database was last read successfully.
    pub(crate) last_sync: parking_lot::Mutex<Option<Instant>>,
    /// A PostgreSQL `LISTEN` connection is open.
    pub(crate) listening: AtomicBool,
    /// A Redis subscription is open.
    pub(crate) subscribed: AtomicBool,
    /// A wake source lost its connection: reload everything at the next poll.
    pub(crate) resync: AtomicBool,
}

impl FeedStatus {
    /// `listen` (PostgreSQL), `redis` (pub/sub) or `poll` (nothing wakes the feed).
    pub(crate) fn wake_source(&self) -> &'static str {
        if self.listening.load(Ordering::Relaxed) {
            "listen"
        } else if self.subscribed.load(Ordering::Relaxed) {
            "redis"
        } else {
            "poll"
        }
    }

    /// Seconds since the database was last read by the feed.
    pub(crate) fn seconds_since_sync(&self) -> Option<f64> {
        self.last_sync.lock().map(|at| at.elapsed().as_secs_f64())
    }
}

impl Fleet {
    /// Connects to Redis (when configured; an unreachable one is not an error: it
    /// starts down and the probe brings it up).
    pub(crate) async fn open(settings: &FleetSettings) -> Result<Fleet, gateway_auth::Error> {
        let redis = match &settings.redis {
            Some(r) => {
                let link = RedisLink::open(&r.url, &r.prefix).await?;
                link.spawn_probe();
                Some(link)
            }
            None => None,
        };
        Ok(Fleet {
            replica_id: settings.replica_id.clone(),
            redis,
            feed: Arc::default(),
        })
    }

    /// Whether Redis is configured but not answering.
    pub(crate) fn redis_down(&self) -> bool {
        self.redis.as_ref().is_some_and(|r| !r.is_up())
    }

    /// Starts the change feed and its wake sources from change `version` (read before
    /// the registry was loaded, so nothing committed since is missed).
    pub(crate) fn start_feed(
        &self,
        store: Store,
        registry: &Arc<Registry>,
        authenticator: Option<&Arc<Authenticator>>,
        settings: &FleetSettings,
        version: i64,
    ) {
        self.feed.version.store(version, Ordering::Relaxed);
        let (wake_tx, wake_rx) = tokio::sync::mpsc::channel(1);
        if store.notifies_changes() {
            wake::spawn_listener(store.clone(), self.feed.clone(), wake_tx.clone());
        } else if let Some(link) = &self.redis {
            wake::spawn_redis(&store, link.clone(), self.feed.clone(), wake_tx.clone());
        }
        feed::ChangeFeed {
            store,
            registry: Arc::downgrade(registry),
            authenticator: authenticator.map(Arc::downgrade),
            status: self.feed.clone(),
            poll: settings.change_poll,
        }
        .spawn(wake_rx, wake_tx);
    }
}
