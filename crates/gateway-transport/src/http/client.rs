//! [`HttpClient`]: one pooled keep-alive HTTP/1.1 + HTTP/2 client (rustls with ring).
//! The gateway shares one among every HTTP upstream, and builds one more per template
//! with its own TLS settings (CA bundle, client certificate).

use std::time::Duration;

use bytes::Bytes;
use gateway_core::UpstreamTls;
use http_body_util::Full;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};

use super::tls::{self, TlsConfigError};

/// A cheap-to-clone pooled HTTP client.
#[derive(Clone, Debug)]
pub struct HttpClient {
    pub(crate) inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
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
        Self::build(connect_timeout, config)
    }

    /// Builds a client with its own pool that verifies TLS and authenticates as `tls`
    /// says. Reads the PEM files now; the error names the setting and the file.
    pub fn with_tls(connect_timeout: Duration, tls: &UpstreamTls) -> Result<Self, TlsConfigError> {
        Ok(Self::build(connect_timeout, tls::client_config(tls)?))
    }

    /// Builds a client whose HTTPS connections all fail verification (it trusts no CA);
    /// plain HTTP still works.
    pub fn refusing_tls(connect_timeout: Duration) -> Self {
        Self::build(connect_timeout, tls::refusing_config())
    }

    /// Sends one request as it is (the gateway forwards requests between its replicas
    /// with this); the response body streams.
    pub fn send(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> hyper_util::client::legacy::ResponseFuture {
        self.inner.request(request)
    }

    fn build(connect_timeout: Duration, config: rustls::ClientConfig) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .build(https);
        Self { inner }
    }
}
