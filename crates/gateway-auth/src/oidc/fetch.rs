//! [`Fetcher`]: the HTTP client that reads issuers' discovery documents and JWKS, with
//! bounded time and size and no redirects (a redirect could lead anywhere; issuers serve
//! these documents directly).

use std::time::Duration;

use super::settings::check_url;
use crate::error::{Error, Result};

/// Time to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for a whole fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest accepted document.
const MAX_DOCUMENT: usize = 256 * 1024;

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: the document is larger than {MAX_DOCUMENT} bytes")]
    TooLarge { url: String },
    #[error("{url}: {reason}")]
    Invalid { url: String, reason: String },
}

/// Reads issuers' documents.
pub(crate) struct Fetcher {
    http: reqwest::Client,
}

impl Fetcher {
    pub(crate) fn new() -> Result<Fetcher> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            return Err(Error::Config {
                key: "oauth_issuers",
                message: "no TLS crypto provider is installed: call \
                          rustls::crypto::ring::default_provider().install_default() at startup"
                    .to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mcp-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config {
                key: "oauth_issuers",
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Fetcher { http })
    }

    /// The body of `GET url` (a 200 answer of at most [`MAX_DOCUMENT`] bytes).
    pub(crate) async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let transport = |source| FetchError::Transport {
            url: url.to_owned(),
            source,
        };
        let mut response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status,
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT as u64)
        {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(FetchError::TooLarge {
                    url: url.to_owned(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The `jwks_uri` of `issuer`'s metadata: OpenID Connect discovery first, then
    /// RFC 8414. The document must name exactly `issuer` (else it is another issuer's).
    pub(crate) async fn discover_jwks_uri(&self, issuer: &str) -> Result<String, FetchError> {
        self.discover(issuer, "jwks_uri").await
    }

    /// The URL in `field` (`jwks_uri`, `token_endpoint`) of `issuer`'s metadata, found
    /// as [`Fetcher::discover_jwks_uri`] finds `jwks_uri`.
    pub(crate) async fn discover(&self, issuer: &str, field: &str) -> Result<String, FetchError> {
        let mut last = None;
        for url in metadata_urls(issuer) {
            let body = match self.get(&url).await {
                Ok(body) => body,
                // Not this well-known location: try the next one.
                Err(e @ FetchError::Status { status: 404, .. }) => {
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let invalid = |reason: &str| FetchError::Invalid {
                url: url.clone(),
                reason: reason.to_owned(),
            };
            let metadata: serde_json::Value =
                serde_json::from_slice(&body).map_err(|_| invalid("not JSON"))?;
            if metadata.get("issuer").and_then(|v| v.as_str()) != Some(issuer) {
                return Err(invalid("the metadata names another issuer"));
            }
            let found = metadata
                .get(field)
                .and_then(|v| v.as_str())
                .ok_or_else(|| invalid(&format!("the metadata has no {field}")))?;
            check_url(found).map_err(|e| invalid(&format!("{field}: {e}")))?;
            return Ok(found.to_owned());
        }
        Err(last.unwrap_or_else(|| FetchError::Invalid {
            url: issuer.to_owned(),
            reason: "no metadata location".to_owned(),
        }))
    }

    /// `POST url` with a form body and HTTP Basic client authentication; the status and
    /// the body (at most [`MAX_DOCUMENT`] bytes) whatever the status.
    pub(crate) async fn post_form(
        &self,
        url: &str,
        basic: &str,
        form: String,
    ) -> Result<(u16, Vec<u8>), FetchError> {
        let transport = |source| FetchError::Transport {
            url: url.to_owned(),
            source,
        };
        let mut response = self
            .http
            .post(url)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", basic)
            .body(form)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(FetchError::TooLarge {
                    url: url.to_owned(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}

/// Where `issuer`'s metadata may be: `{issuer}/.well-known/openid-configuration`, then
/// the RFC 8414 location (`/.well-known/oauth-authorization-server` inserted before the
/// issuer's path).
pub(crate) fn metadata_urls(issuer: &str) -> Vec<String> {
    let trimmed = issuer.trim_end_matches('/');
    let oidc = format!("{trimmed}/.well-known/openid-configuration");
    let rfc8414 = match reqwest::Url::parse(issuer) {
        Ok(url) => {
            let path = url.path().trim_end_matches('/');
            let origin = url.origin().ascii_serialization();
            format!("{origin}/.well-known/oauth-authorization-server{path}")
        }
        Err(_) => return vec![oidc],
    };
    vec![oidc, rfc8414]
}
