//! [`RedisLink`]: the Redis connection of a replica, and whether it is usable.

use std::{
    future::Future,
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// How long one Redis call may take before the link counts as down: a limit check runs
/// on every request, so a slow Redis must not slow the gateway.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the probe pings.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// A replica's connection to Redis. Cheap to share (`Arc`); the connection reconnects
/// by itself.
pub struct RedisLink {
    client: redis::Client,
    manager: ConnectionManager,
    prefix: String,
    up: AtomicBool,
}

impl std::fmt::Debug for RedisLink {
    /// The URL is not shown: it may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink")
            .field("prefix", &self.prefix)
            .field("up", &self.is_up())
            .finish_non_exhaustive()
    }
}

impl RedisLink {
    /// Opens a link to `url` (`redis://[user:password@]host:port[/db]`) whose keys all
    /// start with `prefix`, and pings once. An unreachable Redis is not an error: the
    /// link starts down (with a warning) and comes up when the probe reaches it. A URL
    /// that cannot be parsed is ([`Error::Config`], without the URL, which may hold a
    /// password).
    pub async fn open(url: &str, prefix: &str) -> Result<Arc<RedisLink>> {
        let client = redis::Client::open(url).map_err(|_| Error::Config {
            key: "MCP_GATEWAY_REDIS_URL",
            message: "is not a valid redis:// URL".to_owned(),
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let manager =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(|e| {
                Error::Config {
                    key: "MCP_GATEWAY_REDIS_URL",
                    message: format!("cannot set up the connection: {}", e.category()),
                }
            })?;
        let link = Arc::new(RedisLink {
            client,
            manager,
            prefix: prefix.to_owned(),
            up: AtomicBool::new(false),
        });
        if link.ping().await {
            link.up.store(true, Ordering::Relaxed);
            tracing::info!(
                prefix,
                "Redis reachable: rate limits and login throttling are shared by the fleet"
            );
        } else {
            tracing::warn!(
                "Redis unreachable at start-up: rate limits and login throttling are per \
                 replica until it answers"
            );
        }
        Ok(link)
    }

    /// Whether Redis answered the last call or probe.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// The client, for connections of their own (pub/sub).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// `prefix` + `suffix`: every key and channel of this gateway.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// A handle on the shared connection.
    pub fn connection(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// Runs `call` (bounded by the call timeout) if the link is up; `None` when it is
    /// down or the call fails, which marks it down.
    pub(crate) async fn run<T, F, Fut>(&self, call: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.is_up() {
            return None;
        }
        match tokio::time::timeout(CALL_TIMEOUT, call(self.connection())).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.mark_down(e.category());
                None
            }
            Err(_) => {
                self.mark_down("timeout");
                None
            }
        }
    }

    /// Records that Redis failed (logged once per outage).
    pub fn mark_down(&self, cause: &str) {
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                cause,
                "Redis unreachable: rate limits and login throttling fall back to this \
                 replica's memory until it answers again"
            );
        }
    }

    fn mark_up(&self) {
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!("Redis reachable again: rate limits and login throttling are shared");
        }
    }

    async fn ping(&self) -> bool {
        let mut conn = self.connection();
        let ping = async move { redis::cmd("PING").query_async::<String>(&mut conn).await };
        matches!(tokio::time::timeout(CALL_TIMEOUT, ping).await, Ok(Ok(_)))
    }

    /// Pings every second: marks the link up when Redis answers again, down when it
    /// stops. Ends when the link is dropped.
    pub fn spawn_probe(self: &Arc<Self>) -> JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PROBE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(link) = weak.upgrade() else { break };
                if link.ping().await {
                    link.mark_up();
                } else {
                    link.mark_down("ping failed");
                }
            }
        })
    }
}
