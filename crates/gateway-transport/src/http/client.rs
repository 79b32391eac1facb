//! [`HttpClient`]: one pooled keep-alive HTTP/1.1 + HTTP/2 client (rustls with ring)
//! shared by every HTTP upstream of a gateway.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};

/// A cheap-to-clone pooled HTTP client.
#[derive(Clone, Debug)]
pub struct HttpClient {
    pub(crate) inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    /// Builds a client that verifies TLS against the system's root certificates.
    pub fn new(connect_timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let https = match builder.with_native_roots() {
            Ok(b) => b
                .https_or_http()
                .enable_http1()
                .enable_http2()
                .wrap_connector(http),
            Err(e) => {
                tracing::warn!(error = %e, "no system root certificates; https upstreams will fail verification");
                let config = rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(config)
                    .https_or_http()
                    .enable_http1()
                    .enable_http2()
                    .wrap_connector(http)
            }
        };
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .build(https);
        Self { inner }
    }
}
