//! [`Server`]: open the database, load the registry, bind, serve, shut down cleanly.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use gateway_auth::{HopSigner, SessionKey, SessionSealer};

use gateway_store::Store;
use gateway_transport::Connector;
use tokio::net::TcpListener;

use crate::{
    auth::Access,
    config::Settings,
    drain::{Drain, Phase},
    fleet::{
        Fleet,
        hop::{Hop, Owner},
    },
    listen::Listener,
    mcp::{McpState, Sessions},
    metrics::HttpMetrics,
    registry::{Registry, RegistryError},
    relay::{Credentials, GatewayStats, Relay},
    router,
    state::{AppState, Shared},
};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be opened or migrated.
    #[error("database ({backend}): {source}")]
    Database {
        /// `sqlite`, `postgres`, `mysql` or `unsupported URL scheme` (the URL is not
        /// shown: it may hold a password).
        backend: &'static str,
        /// The cause.
        #[source]
        source: gateway_store::Error,
    },
    /// Loading or seeding the registry failed.
    #[error("registry: {0}")]
    Registry(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
    /// A non-loopback address without authentication (and without `--insecure-no-auth`).
    #[error(
        "refusing to listen on {host} without authentication: start with --auth \
         (or MCP_GATEWAY_AUTH=1), or pass --insecure-no-auth if something else protects it"
    )]
    Insecure {
        /// The configured host.
        host: String,
    },
    /// A TLS certificate, key or client CA file is missing or unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// The MCP session key is not usable.
    #[error("MCP session key: {0}")]
    SessionKey(String),
    /// Authentication could not be set up (bad settings, database failure).
    #[error("authentication: {0}")]
    Auth(#[source] gateway_auth::Error),
}

/// A bound, ready-to-serve gateway.
pub struct Server {
    listener: Listener,
    /// `--metrics-addr`: `GET /metrics` alone, without authentication.
    metrics: Option<TcpListener>,
    state: AppState,
    /// How long shutdown waits for in-flight requests before cutting them off.
    shutdown_grace: Duration,
}

/// After the cut, how long connections get to send their last bytes and close.
const CUT_LINGER: Duration = Duration::from_secs(1);

impl Server {
    /// Opens the database (migrating it), loads and seeds the registry (stdio instances
    /// start now), and binds the listener.
    pub async fn bind(settings: Settings) -> Result<Server, Error> {
        if !settings.auth.enabled
            && !settings.auth.insecure_no_auth
            && !crate::config::is_loopback(&settings.host)
        {
            return Err(Error::Insecure {
                host: settings.host.clone(),
            });
        }
        warn_if_clear_text(&settings);
        let backend = backend_of(&settings.database_url);
        let database = |source| Error::Database { backend, source };
        let store = Store::connect(&settings.database_url)
            .await
            .map_err(database)?;
        store.migrate().await.map_err(database)?;
        // Read before the registry loads: the feed replays anything committed after it.
        let version = store.change_version().await.map_err(database)?;
        let fleet = Fleet::open(&settings.fleet).await.map_err(Error::Auth)?;
        // Bound before authentication is set up: with OAuth issuers and no public URL,
        // the resource identifier is the listener's own address.
        let addr = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let (access, bootstrap) = match settings.auth.enabled {
            true => {
                let bound = listener.local_addr().map_err(|source| Error::Bind {
                    addr: settings.host.clone(),
                    source,
                })?;
                let scheme = match settings.listen.tls {
                    Some(_) => "https",
                    None => "http",
                };
                let oauth = settings.auth.oauth.config(scheme, &settings.host, bound);
                Access::open(&store, &settings.auth, oauth, fleet.redis.as_ref())
                    .await
                    .map_err(Error::Auth)?
            }
            false => (Access::disabled(&settings.auth), None),
        };
        let (sessions, signer) = sessions(&store, &settings).await?;
        let bound = listener.local_addr().map_err(|source| Error::Bind {
            addr: settings.host.clone(),
            source,
        })?;
        let advertise = match &settings.fleet.advertise_url {
            Some(url) => url.clone(),
            None => default_advertise_url(settings.listen.tls.is_some(), bound),
        };
        let hop = Arc::new(Hop::new(
            Owner::this_process(advertise, fleet.replica_id.clone()),
            signer,
            settings.max_message_size,
        ));
        let connector = Connector::new(settings.transport_options());
        let health = settings.health_policy;
        // Token exchange for templates' upstreams (`upstream_auth`), when an issuer has
        // an exchange client; without authentication there is no user to exchange for.
        let exchanger = match settings.auth.enabled {
            true => gateway_auth::oidc::TokenExchanger::new(&settings.auth.oauth.issuers)
                .map_err(Error::Auth)?
                .map(Arc::new),
            false => None,
        };
        let credentials = Credentials::new(exchanger);
        let metrics_on = settings.metrics;
        let registry = Registry::load(
            store.clone(),
            connector,
            settings.template_defaults,
            health,
            metrics_on,
        )
        .await
        .map_err(|e: RegistryError| Error::Registry(e.to_string()))?
        .with_exchange_issuers(
            settings
                .auth
                .oauth
                .issuers
                .iter()
                .filter(|i| settings.auth.enabled && i.token_exchange.is_some())
                .map(|i| i.name.clone())
                .collect(),
        );
        registry
            .seed(settings.seed.clone())
            .await
            .map_err(|e| Error::Registry(e.to_string()))?;
        let listener =
            Listener::new(listener, &settings.listen).map_err(|e| Error::Tls(e.to_string()))?;
        let metrics = match settings.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| Error::Bind {
                        addr: addr.to_string(),
                        source,
                    })?,
            ),
            None => None,
        };
        let http = Arc::new(HttpMetrics::new(listener.open_connections(), metrics_on));
        tracing::info!(
            database = backend,
            auth = access.is_enabled(),
            replica = %fleet.replica_id,
            advertise_url = %hop.me.url,
            redis = fleet.redis.is_some(),
            "gateway ready"
        );
        announce(bootstrap);
        let registry = Arc::new(registry);
        registry.spawn_health_sync();
        fleet.start_feed(
            store,
            &registry,
            access.authenticator.as_ref(),
            &settings.fleet,
            version,
        );
        let stats = Arc::new(match metrics_on {
            true => GatewayStats::new(),
            false => GatewayStats::without_metrics(),
        });
        let relay = Relay::new(
            registry.routing(),
            gateway_health::RetryBudget::default(),
            stats.clone(),
            credentials,
        );
        let access = Arc::new(access);
        let drain = Drain::new();
        let mcp = &settings.mcp;
        let mcp = Arc::new(McpState::new(
            relay.clone(),
            sessions,
            &mcp.name_separator,
            mcp.sse_keepalive,
            mcp.limits,
            access.clone(),
            drain.clone(),
            hop.clone(),
        ));
        Ok(Server {
            listener,
            metrics,
            shutdown_grace: settings.shutdown_grace,
            state: AppState::new(Shared {
                registry,
                relay,
                stats,
                http,
                max_body: settings.max_message_size,
                access,
                mcp,
                browser: crate::browser::Browser::new(&settings.browser),
                drain,
                fleet: Arc::new(fleet),
            }),
        })
    }

    /// The application as an axum [`Router`](axum::Router), without the listener: to
    /// nest the gateway's API in another axum service, or to drive it in-process
    /// (`benches/auth_layer.rs`). Shutdown draining is [`Server::serve`]'s, not the
    /// router's; the registry's upstreams live as long as this server value.
    pub fn router(&self) -> axum::Router {
        router::app(self.state.clone())
    }

    /// The address of the metrics listener (`--metrics-addr`), if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// `https` when serving TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        self.listener.scheme()
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        // A bound TcpListener always has a local address; fall back to unspecified.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves until `shutdown` resolves, then stops accepting, ends open SSE
    /// notification streams, lets in-flight requests finish for up to the shutdown grace
    /// (then cuts off, and logs, whatever is still open), and stops every upstream
    /// (stdio children get the shutdown ladder).
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let registry = self.state.registry.clone();
        let access = self.state.access.clone();
        let sessions = self.state.mcp.sessions.clone();
        let drain = self.state.drain.clone();
        let grace = self.shutdown_grace;
        if let Some(listener) = self.metrics {
            let app = crate::admin::metrics_only(self.state.clone());
            let stop = drain.reached(Phase::Draining);
            tracing::info!(addr = ?listener.local_addr().ok(), "serving /metrics without authentication");
            tokio::spawn(async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await;
                if let Err(e) = served {
                    tracing::warn!(error = %e, "the metrics listener stopped");
                }
            });
        }
        let app = router::app(self.state);
        let signalled = {
            let drain = drain.clone();
            async move {
                shutdown.await;
                let open = drain.begin();
                tracing::info!(
                    open_requests = open,
                    grace_secs = grace.as_secs_f64(),
                    "shutdown signal: no longer accepting connections, ending SSE \
                     notification streams, letting in-flight requests finish"
                );
            }
        };
        // Stops accepting at the signal; resolves once every connection is closed.
        let serving = self.listener.serve(app, signalled);
        tokio::pin!(serving);
        let deadline = {
            let draining = drain.reached(Phase::Draining);
            async move {
                draining.await;
                tokio::time::sleep(grace).await;
            }
        };
        let result = tokio::select! {
            () = &mut serving => Ok(()),
            () = deadline => {
                let open = drain.cut();
                tracing::warn!(
                    grace_secs = grace.as_secs_f64(),
                    cut_off = open,
                    "drain deadline passed: cutting off what is still open"
                );
                // Cut requests answer at once; give their connections a moment to send
                // that and close, then stop waiting for good.
                match tokio::time::timeout(CUT_LINGER, &mut serving).await {
                    Ok(()) => Ok(()),
                    Err(_) => {
                        tracing::warn!("connections still open after the cut; leaving them");
                        Ok(())
                    }
                }
            }
        };
        access.flush().await;
        tracing::info!("shutting down: closing upstream connections");
        futures_util::future::join(registry.close_all(), sessions.close_dedicated()).await;
        result
    }
}

/// MCP sessions: sealed with the key from the settings, or one generated once and kept
/// in the database (so replicas sharing it share the key); reaped when idle. With them,
/// the key that signs requests forwarded between replicas: `MCP_GATEWAY_FLEET_SECRET`,
/// or derived from the session key (which every replica of a fleet shares).
async fn sessions(store: &Store, settings: &Settings) -> Result<(Arc<Sessions>, HopSigner), Error> {
    let mcp = &settings.mcp;
    let bad_key = |e: gateway_auth::SealError| Error::SessionKey(e.to_string());
    let current = match &mcp.session_key {
        Some(key) => SessionKey::from_base64(key).map_err(bad_key)?,
        None => {
            let candidate = SessionKey::generate().map_err(bad_key)?.to_base64();
            let stored = store
                .secret_or_insert(SESSION_KEY_SECRET, &candidate)
                .await
                .map_err(|source| Error::Database {
                    backend: backend_of(&settings.database_url),
                    source,
                })?;
            SessionKey::from_base64(&stored).map_err(bad_key)?
        }
    };
    let previous = mcp
        .previous_session_keys
        .iter()
        .map(|k| SessionKey::from_base64(k))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad_key)?;
    let signer = match &settings.fleet.fleet_secret {
        Some(secret) => HopSigner::from_secret(secret.expose().as_bytes()),
        None => HopSigner::derived(&current),
    };
    let sessions = Arc::new(Sessions::new(
        SessionSealer::new(current, previous),
        mcp.session_idle_timeout,
        mcp.session_max_age,
        mcp.limits.max_live_sessions,
        mcp.limits.max_closed_sessions,
    ));
    sessions.spawn_reaper(Duration::from_secs(60).min(mcp.session_idle_timeout));
    Ok((sessions, signer))
}

/// Where other replicas reach this one when `MCP_GATEWAY_ADVERTISE_URL` is not set: the
/// bound address, or for a wildcard bind (`0.0.0.0`, `::`) the host name (a pod's name
/// resolves only through a headless Service: on Kubernetes set the URL from the pod IP).
fn default_advertise_url(tls: bool, bound: SocketAddr) -> String {
    let scheme = if tls { "https" } else { "http" };
    let port = bound.port();
    if !bound.ip().is_unspecified() {
        return format!("{scheme}://{bound}");
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        })
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{scheme}://{host}:{port}")
}

/// The name of the generated session key in the database's secrets table.
const SESSION_KEY_SECRET: &str = "mcp_session_key";

/// Warns when credentials would cross the network in clear text: a non-loopback bind
/// with authentication, without TLS, and not declared to be behind a TLS proxy.
fn warn_if_clear_text(settings: &Settings) {
    let listen = &settings.listen;
    if settings.auth.enabled
        && listen.tls.is_none()
        && !listen.behind_tls_proxy
        && !crate::config::is_loopback(&settings.host)
    {
        tracing::warn!(
            host = %settings.host,
            "listening on a non-loopback address with authentication but without TLS:              passwords, JWTs and API keys travel in clear text and can be read or replayed              by anyone on the network path; set --tls-cert and --tls-key, or pass              --behind-tls-proxy (MCP_GATEWAY_BEHIND_TLS_PROXY=1) if a proxy terminates TLS"
        );
    }
}

/// Tells the operator about the first admin. A generated password goes to stderr once,
/// never to the log.
fn announce(bootstrap: Option<gateway_auth::BootstrapAdmin>) {
    let Some(admin) = bootstrap else { return };
    match admin.generated_password {
        Some(password) => eprintln!(
            "\n  Created the first user: {} (role admin)\n  Password: {}\n  \
             It is shown only now: log in with `mcpp gateway login {}` and change it.\n",
            admin.username,
            password.expose(),
            admin.username
        ),
        None => tracing::info!(
            user = %admin.username,
            "created the first admin user with the password from MCP_GATEWAY_ADMIN_PASSWORD"
        ),
    }
}

fn backend_of(url: &str) -> &'static str {
    match url.split(':').next() {
        Some("postgres" | "postgresql") => "postgres",
        Some("mysql" | "mariadb") => "mysql",
        Some("sqlite") => "sqlite",
        _ => "unsupported URL scheme",
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
