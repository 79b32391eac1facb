//! [`HttpClient`]: one pooled keep-alive HTTP/1.1 + HTTP/2 client (rustls with ring).
//! The gateway shares one among every HTTP upstream, and builds one more per template
//! with its own TLS settings (CA bundle, client certificate), and one per instance
//! with connection limits ([`HttpClient::limited`]).

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use gateway_core::UpstreamTls;
use http_body_util::Full;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};

use super::{
    limited::LimitedConnector,
    tls::{self, TlsConfigError},
};

/// How long an idle pooled connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A cheap-to-clone pooled HTTP client.
#[derive(Clone, Debug)]
pub struct HttpClient {
    pub(crate) inner: Client<LimitedConnector<HttpsConnector<HttpConnector>>, Full<Bytes>>,
    /// What it was built from, to build a limited pool with the same TLS settings.
    config: Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
}

/// The connection limits of one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolLimits {
    /// Open connections, busy or idle (`None`: unlimited).
    pub max_connections: Option<usize>,
    /// Idle connections kept per host (`None`: all of them, until the idle timeout).
    pub max_idle: Option<usize>,
}

impl HttpClient {
    /// Builds a client that verifies TLS against the system's root certificates.
    pub fn new(connect_timeout: Duration) -> Self {
        let config = match rustls::ClientConfig::builder().with_native_roots() {
            Ok(b) => b.with_no_client_auth(),
            Err(e) => {
                tracing::warn!(error = %e, "no system root certificates; https upstreams will fail verification");
                tls::refusing_config()
            }
        };
        Self::build(connect_timeout, Arc::new(config), PoolLimits::default())
    }

    /// Builds a client with its own pool that verifies TLS and authenticates as `tls`
    /// says. Reads the PEM files now; the error names the setting and the file.
    pub fn with_tls(connect_timeout: Duration, tls: &UpstreamTls) -> Result<Self, TlsConfigError> {
        Ok(Self::build(
            connect_timeout,
            Arc::new(tls::client_config(tls)?),
            PoolLimits::default(),
        ))
    }

    /// Builds a client whose HTTPS connections all fail verification (it trusts no CA);
    /// plain HTTP still works.
    pub fn refusing_tls(connect_timeout: Duration) -> Self {
        Self::build(
            connect_timeout,
            Arc::new(tls::refusing_config()),
            PoolLimits::default(),
        )
    }

    /// A client with the same TLS settings over a pool of its own with `limits` (one
    /// upstream instance's pool).
    pub fn limited(&self, limits: PoolLimits) -> Self {
        Self::build(self.connect_timeout, self.config.clone(), limits)
    }

    /// Sends one request as it is (the gateway forwards requests between its replicas
    /// with this); the response body streams.
    pub fn send(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> hyper_util::client::legacy::ResponseFuture {
        self.inner.request(request)
    }

    fn build(
        connect_timeout: Duration,
        config: Arc<rustls::ClientConfig>,
        limits: PoolLimits,
    ) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*config).clone())
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new());
        if let Some(idle) = limits.max_idle {
            builder.pool_max_idle_per_host(idle);
        }
        let inner = builder.build(LimitedConnector::new(https, limits.max_connections));
        Self {
            inner,
            config,
            connect_timeout,
        }
    }
}
