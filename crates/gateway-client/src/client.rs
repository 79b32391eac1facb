//! [`GatewayClient`] and its builder: base URL, credentials, timeouts, and the one
//! request path every API call goes through.

use std::{fmt, path::PathBuf, time::Duration};

use reqwest::{
    Method, Url,
    header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

/// Header carrying an API key.
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// Default limit for a whole request, response body included.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Default limit for opening the TCP (and TLS) connection.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for one gateway. Cheap to clone: clones share the connection pool.
///
/// Built with [`GatewayClient::builder`]; the API methods are grouped by server area
/// (registry, tools, resources, prompts, template health). Every method returns this
/// crate's [`Error`] on failure.
#[derive(Debug, Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    base: Url,
}

/// Settings for a [`GatewayClient`].
///
/// ```no_run
/// # fn build() -> Result<(), gateway_client::Error> {
/// use std::time::Duration;
///
/// let client = gateway_client::GatewayClient::builder("https://gateway.example:8080")
///     .api_key("mcp_sk_...")
///     .timeout(Duration::from_secs(30))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GatewayClientBuilder {
    base_url: String,
    bearer_token: Option<String>,
    api_key: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    user_agent: String,
    ca_bundle: Option<PathBuf>,
}

/// A response the caller reads itself (see [`GatewayClient::send`]).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: reqwest::StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

// === impl GatewayClient ===

impl GatewayClient {
    /// A builder for a client of the gateway at `base_url` (e.g. `http://127.0.0.1:8080`;
    /// a path prefix such as `https://host/mcp-gateway` is kept).
    pub fn builder(base_url: impl Into<String>) -> GatewayClientBuilder {
        GatewayClientBuilder {
            base_url: base_url.into(),
            bearer_token: None,
            api_key: None,
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            user_agent: concat!("mcp-gateway-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            ca_bundle: None,
        }
    }

    /// A client with default settings and no credentials.
    pub fn new(base_url: impl Into<String>) -> Result<Self> {
        Self::builder(base_url).build()
    }

    /// The gateway's base URL, as normalised by the builder.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The URL of `segments` under the base URL; each segment is percent-encoded, so a
    /// name can never change the path's shape.
    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::builder("the base URL cannot have a path", None))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// `GET` and decode.
    pub(crate) async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T> {
        self.call(Method::GET, segments, None::<&()>).await
    }

    /// `POST` a JSON body and decode.
    pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T> {
        self.call(Method::POST, segments, Some(body)).await
    }

    /// `PUT` a JSON body and decode.
    pub(crate) async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T> {
        self.call(Method::PUT, segments, Some(body)).await
    }

    /// `DELETE` and decode.
    pub(crate) async fn delete<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T> {
        self.call(Method::DELETE, segments, None::<&()>).await
    }

    /// `PATCH` a JSON body and decode.
    pub(crate) async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T> {
        self.call(Method::PATCH, segments, Some(body)).await
    }

    /// `GET` with query parameters (`None` values are left out) and decode.
    pub(crate) async fn get_query<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, Option<String>)],
    ) -> Result<T> {
        let mut url = self.url(segments)?;
        {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                if let Some(value) = value {
                    pairs.append_pair(key, value);
                }
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let response = self.http.get(url).send().await.map_err(Error::transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(Error::transport)?;
        if !status.is_success() {
            return Err(Error::from_response(status, &headers, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(Error::decode)
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<T> {
        let reply = self.send(method, segments, body, &[]).await?;
        serde_json::from_slice(&reply.body).map_err(Error::decode)
    }

    /// Sends the request; returns the status and body of a 2xx answer, or of an answer
    /// whose status is in `accept` (for callers that read that body themselves), else
    /// the decoded error.
    pub(crate) async fn send<B: Serialize>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
        accept: &[u16],
    ) -> Result<Reply> {
        let mut request = self.http.request(method, self.url(segments)?);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(Error::transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(Error::transport)?;
        if status.is_success() || accept.contains(&status.as_u16()) {
            Ok(Reply {
                status,
                headers,
                body: bytes.to_vec(),
            })
        } else {
            Err(Error::from_response(status, &headers, &bytes))
        }
    }
}

// === impl GatewayClientBuilder ===

impl GatewayClientBuilder {
    /// Sends `Authorization: Bearer <token>` (a JWT from the gateway's login) on every request.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Sends `X-API-Key: <key>` on every request.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Limit for a whole request, response included (default 60 s). Tool calls that run
    /// longer need a larger value; `None` waits indefinitely.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// Limit for opening a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `mcp-gateway-client/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Also trusts the CA certificates in this PEM file (besides the system's), for a
    /// gateway whose HTTPS certificate comes from a private CA. Read by
    /// [`build`](Self::build).
    pub fn ca_bundle(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_bundle = Some(path.into());
        self
    }

    /// Builds the client.
    ///
    /// Fails if the base URL is not an `http`/`https` URL without query or fragment, if a
    /// credential is not a valid header value, if the CA bundle cannot be read or holds
    /// no certificate, or if no rustls crypto provider is
    /// installed for the process (the SDK does not pick one; call
    /// `rustls::crypto::ring::default_provider().install_default()` first).
    pub fn build(self) -> Result<GatewayClient> {
        let base = parse_base(&self.base_url)?;
        let mut headers = HeaderMap::new();
        if let Some(token) = &self.bearer_token {
            headers.insert(
                AUTHORIZATION,
                secret(&format!("Bearer {token}"), "bearer token")?,
            );
        }
        if let Some(key) = &self.api_key {
            headers.insert(X_API_KEY, secret(key, "API key")?);
        }
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            return Err(Error::builder(
                "no rustls crypto provider is installed; call \
                 rustls::crypto::ring::default_provider().install_default() at startup",
                None,
            ));
        }
        let mut http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent);
        if let Some(timeout) = self.timeout {
            http = http.timeout(timeout);
        }
        if let Some(path) = &self.ca_bundle {
            http = http.tls_certs_merge(read_ca_bundle(path)?);
        }
        let http = http
            .build()
            .map_err(|e| Error::builder("cannot create the HTTP client", Some(Box::new(e))))?;
        Ok(GatewayClient { http, base })
    }
}

impl fmt::Debug for GatewayClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials are never printed.
        f.debug_struct("GatewayClientBuilder")
            .field("base_url", &self.base_url)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("user_agent", &self.user_agent)
            .field("ca_bundle", &self.ca_bundle)
            .finish()
    }
}

/// The certificates of a PEM CA bundle; an error names the file.
fn read_ca_bundle(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| {
        Error::builder(
            format!("cannot read the CA bundle {shown}"),
            Some(Box::new(e)),
        )
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        Error::builder(
            format!("the CA bundle {shown} is not valid PEM"),
            Some(Box::new(e)),
        )
    })?;
    if certs.is_empty() {
        return Err(Error::builder(
            format!("the CA bundle {shown} holds no certificate"),
            None,
        ));
    }
    Ok(certs)
}

fn parse_base(raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::builder(format!("invalid base URL {raw:?}"), Some(Box::new(e))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::builder(
            format!("base URL {raw:?} must start with http:// or https://"),
            None,
        ));
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(Error::builder(
            format!("base URL {raw:?} has no host"),
            None,
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::builder(
            format!("base URL {raw:?} must not have a query or fragment"),
            None,
        ));
    }
    Ok(url)
}

/// A header value holding a credential: validated, and marked sensitive so it is never
/// printed by `Debug`.
fn secret(value: &str, what: &str) -> Result<HeaderValue> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        Error::builder(
            format!("the {what} contains characters not allowed in an HTTP header"),
            None,
        )
    })?;
    header.set_sensitive(true);
    Ok(header)
}

#[cfg(test)]
mod tests;
