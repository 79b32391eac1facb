//! An OAuth 2.1 client for logging in to a gateway through its identity provider, as
//! the MCP authorization spec describes it: the gateway's protected resource metadata
//! (RFC 9728) names the resource and the issuers; the issuer's metadata (RFC 8414, else
//! OpenID Connect discovery) names its endpoints; then the authorization code grant with
//! PKCE (S256) or the device authorization grant (RFC 8628), with the gateway's resource
//! indicator (RFC 8707) on every request, and refresh tokens.
//!
//! The caller runs the user-facing part: opening the authorization URL and receiving the
//! redirect on a loopback address (see `mcpp gateway login --oidc`), or showing the
//! device code.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Largest accepted metadata or token response.
const MAX_BODY: usize = 256 * 1024;

/// An OAuth failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The server could not be reached or the transfer failed.
    #[error("{url}: {source}")]
    Transport {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error (`error` is the OAuth error code, if any).
    #[error("{url}: HTTP {status}{}", error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    Refused {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` (and `error_description`), if the body had one.
        error: Option<String>,
    },
    /// The answer is not what the protocol requires.
    #[error("{url}: {reason}")]
    Invalid {
        /// The URL (or what was checked).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// No randomness for PKCE or `state`.
    #[error("no randomness available")]
    Random,
}

type Result<T, E = OAuthError> = std::result::Result<T, E>;

/// The gateway's protected resource metadata (RFC 9728).
#[derive(Debug, Clone, Deserialize)]
pub struct ProtectedResource {
    /// The resource identifier tokens must name.
    pub resource: String,
    /// The issuers the gateway trusts.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// Scopes to request.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// An authorization server's metadata (RFC 8414 / OpenID Connect discovery).
#[derive(Debug, Clone, Deserialize)]
pub struct ServerMetadata {
    /// Its issuer identifier.
    pub issuer: String,
    /// Where the user authorizes (authorization code grant).
    pub authorization_endpoint: Option<String>,
    /// Where codes, device codes and refresh tokens become tokens.
    pub token_endpoint: String,
    /// Where a device authorization starts (RFC 8628), if supported.
    pub device_authorization_endpoint: Option<String>,
    /// Scopes it knows.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// Whether authorization responses carry `iss` (RFC 9207).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// A token endpoint's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// A refresh token, if issued.
    pub refresh_token: Option<String>,
    /// Lifetime of the access token, seconds.
    pub expires_in: Option<u64>,
    /// Granted scopes.
    pub scope: Option<String>,
}

/// The start of a device authorization (RFC 8628 §3.2).
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceAuthorization {
    /// Polled for at the token endpoint.
    pub device_code: String,
    /// What the user types.
    pub user_code: String,
    /// Where the user goes.
    pub verification_uri: String,
    /// The same with the code filled in, if offered.
    pub verification_uri_complete: Option<String>,
    /// Seconds until the codes expire.
    pub expires_in: u64,
    /// Seconds between polls (default 5).
    pub interval: Option<u64>,
}

/// What a device-code poll gave.
#[derive(Debug)]
pub enum DevicePoll {
    /// The user has not finished: poll again after the interval.
    Pending,
    /// Poll again, 5 s slower (RFC 8628 §3.5).
    SlowDown,
    /// Done.
    Token(TokenResponse),
}

/// A PKCE verifier and its S256 challenge (RFC 7636).
#[derive(Clone)]
pub struct Pkce {
    /// Sent with the code exchange.
    pub verifier: String,
    /// Sent with the authorization request.
    pub challenge: String,
}

impl Pkce {
    /// A new random verifier (256 bits).
    pub fn new() -> Result<Pkce> {
        let verifier = random_token()?;
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Ok(Pkce {
            verifier,
            challenge,
        })
    }
}

/// 256 random bits, URL-safe base64 (for `state` and PKCE).
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| OAuthError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    fn encode(out: &mut String, text: &str) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    out.push(char::from(b));
                }
                b' ' => out.push('+'),
                _ => {
                    out.push('%');
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0xf)]));
                }
            }
        }
    }
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(&mut out, key);
        out.push('=');
        encode(&mut out, value);
    }
    out
}

/// The query parameters of a redirect's request target (`/callback?code=...&state=...`),
/// decoded; `None` unless the path is `path`.
pub fn redirect_params(target: &str, path: &str) -> Option<Vec<(String, String)>> {
    let url = reqwest::Url::parse(&format!("http://loopback.invalid{target}")).ok()?;
    (url.path() == path).then(|| {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
}

/// Makes the requests of an OAuth login.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
}

impl OAuthClient {
    /// A client with 10 s connect and 30 s request timeouts that follows no redirects.
    /// A rustls crypto provider must be installed (see [`crate::GatewayClientBuilder::build`]).
    pub fn new() -> Result<OAuthClient> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            return Err(OAuthError::Invalid {
                url: "TLS".to_owned(),
                reason: "no rustls crypto provider is installed".to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| OAuthError::Transport {
                url: String::new(),
                source,
            })?;
        Ok(OAuthClient { http })
    }

    /// The gateway's protected resource metadata (`/.well-known/oauth-protected-resource`).
    pub async fn protected_resource(&self, gateway_url: &str) -> Result<ProtectedResource> {
        let url = format!(
            "{}/.well-known/oauth-protected-resource",
            gateway_url.trim_end_matches('/')
        );
        let value = self.get_json(&url).await?;
        parse(&url, value)
    }

    /// `issuer`'s metadata: RFC 8414 first (with the issuer's path inserted after the
    /// well-known prefix), then OpenID Connect discovery (inserted, then appended). The
    /// document must name exactly `issuer`.
    pub async fn discover(&self, issuer: &str) -> Result<ServerMetadata> {
        let parsed = reqwest::Url::parse(issuer).map_err(|e| OAuthError::Invalid {
            url: issuer.to_owned(),
            reason: format!("not a URL: {e}"),
        })?;
        let origin = parsed.origin().ascii_serialization();
        let path = parsed.path().trim_end_matches('/');
        let mut candidates = vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
        ];
        if !path.is_empty() {
            candidates.push(format!("{origin}{path}/.well-known/openid-configuration"));
        }
        candidates.dedup();
        let mut last = None;
        for url in candidates {
            match self.get_json(&url).await {
                Ok(value) => {
                    let metadata: ServerMetadata = parse(&url, value)?;
                    if metadata.issuer != issuer {
                        return Err(OAuthError::Invalid {
                            url,
                            reason: format!(
                                "the metadata names issuer {:?}, not {issuer:?}",
                                metadata.issuer
                            ),
                        });
                    }
                    return Ok(metadata);
                }
                Err(e @ (OAuthError::Refused { .. } | OAuthError::Invalid { .. })) => {
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(OAuthError::Invalid {
            url: issuer.to_owned(),
            reason: "no metadata found".to_owned(),
        }))
    }

    /// The authorization request URL (authorization code grant with PKCE).
    pub fn authorization_url(
        &self,
        metadata: &ServerMetadata,
        request: &AuthorizationRequest<'_>,
    ) -> Result<String> {
        let endpoint =
            metadata
                .authorization_endpoint
                .as_deref()
                .ok_or_else(|| OAuthError::Invalid {
                    url: metadata.issuer.clone(),
                    reason: "the issuer has no authorization endpoint".to_owned(),
                })?;
        let mut url = reqwest::Url::parse(endpoint).map_err(|e| OAuthError::Invalid {
            url: endpoint.to_owned(),
            reason: e.to_string(),
        })?;
        url.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", request.client_id),
            ("redirect_uri", request.redirect_uri),
            ("scope", request.scope),
            ("resource", request.resource),
            ("state", request.state),
            ("code_challenge", request.code_challenge),
            ("code_challenge_method", "S256"),
        ]);
        // OpenID Connect issues refresh tokens for `offline_access` only with consent.
        if request.scope.split(' ').any(|s| s == "offline_access") {
            url.query_pairs_mut().append_pair("prompt", "consent");
        }
        Ok(url.into())
    }

    /// Exchanges an authorization code (with its PKCE verifier).
    pub async fn exchange_code(
        &self,
        metadata: &ServerMetadata,
        client_id: &str,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
        resource: &str,
    ) -> Result<TokenResponse> {
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect_uri),
            ("resource", resource),
        ]);
        let value = self.post_form(&metadata.token_endpoint, body).await?;
        parse(&metadata.token_endpoint, value)
    }

    /// Starts a device authorization.
    pub async fn device_authorization(
        &self,
        metadata: &ServerMetadata,
        client_id: &str,
        scope: &str,
        resource: &str,
    ) -> Result<DeviceAuthorization> {
        let endpoint = metadata
            .device_authorization_endpoint
            .as_deref()
            .ok_or_else(|| OAuthError::Invalid {
                url: metadata.issuer.clone(),
                reason: "the issuer does not support the device authorization grant".to_owned(),
            })?;
        let body = form(&[
            ("client_id", client_id),
            ("scope", scope),
            ("resource", resource),
        ]);
        let value = self.post_form(endpoint, body).await?;
        parse(endpoint, value)
    }

    /// Asks once whether the user completed a device authorization.
    pub async fn poll_device(
        &self,
        metadata: &ServerMetadata,
        client_id: &str,
        device_code: &str,
        resource: &str,
    ) -> Result<DevicePoll> {
        let body = form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", client_id),
            ("device_code", device_code),
            ("resource", resource),
        ]);
        match self.post_form(&metadata.token_endpoint, body).await {
            Ok(value) => Ok(DevicePoll::Token(parse(&metadata.token_endpoint, value)?)),
            Err(OAuthError::Refused {
                status: 400,
                error: Some(e),
                ..
            }) if e.starts_with("authorization_pending") => Ok(DevicePoll::Pending),
            Err(OAuthError::Refused {
                status: 400,
                error: Some(e),
                ..
            }) if e.starts_with("slow_down") => Ok(DevicePoll::SlowDown),
            Err(e) => Err(e),
        }
    }

    /// A new access token from a refresh token.
    pub async fn refresh(
        &self,
        token_endpoint: &str,
        client_id: &str,
        refresh_token: &str,
        resource: &str,
    ) -> Result<TokenResponse> {
        let body = form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
            ("resource", resource),
        ]);
        let value = self.post_form(token_endpoint, body).await?;
        parse(token_endpoint, value)
    }

    async fn get_json(&self, url: &str) -> Result<Value> {
        let request = self.http.get(url).header("accept", "application/json");
        self.send(url, request).await
    }

    async fn post_form(&self, url: &str, body: String) -> Result<Value> {
        let request = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        self.send(url, request).await
    }

    async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Result<Value> {
        let transport = |source| OAuthError::Transport {
            url: url.to_owned(),
            source,
        };
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(OAuthError::Invalid {
                    url: url.to_owned(),
                    reason: format!("the answer is larger than {MAX_BODY} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        let value: Option<Value> = serde_json::from_slice(&body).ok();
        if !(200..300).contains(&status) {
            let error = value.as_ref().and_then(|v| {
                let code = v.get("error")?.as_str()?;
                Some(match v.get("error_description").and_then(Value::as_str) {
                    Some(d) => format!("{code}: {d}"),
                    None => code.to_owned(),
                })
            });
            return Err(OAuthError::Refused {
                url: url.to_owned(),
                status,
                error,
            });
        }
        value.ok_or_else(|| OAuthError::Invalid {
            url: url.to_owned(),
            reason: "the answer is not JSON".to_owned(),
        })
    }
}

/// The parameters of an authorization request.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationRequest<'a> {
    /// The client.
    pub client_id: &'a str,
    /// Where the code goes (a loopback URL for a CLI).
    pub redirect_uri: &'a str,
    /// Space-separated scopes.
    pub scope: &'a str,
    /// The gateway's resource identifier.
    pub resource: &'a str,
    /// An unguessable value tying the answer to this request.
    pub state: &'a str,
    /// The PKCE challenge.
    pub code_challenge: &'a str,
}

fn parse<T: for<'de> Deserialize<'de>>(url: &str, value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| OAuthError::Invalid {
        url: url.to_owned(),
        reason: format!("unexpected answer: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_and_forms() {
        let pkce = Pkce::new().unwrap();
        assert_eq!(pkce.verifier.len(), 43);
        assert_eq!(
            pkce.challenge,
            URL_SAFE_NO_PAD.encode(Sha256::digest(pkce.verifier.as_bytes()))
        );
        assert_ne!(Pkce::new().unwrap().verifier, pkce.verifier);
        let params = redirect_params(
            "/callback?code=a%2Bb&state=s+1&iss=http%3A%2F%2Fi",
            "/callback",
        );
        assert_eq!(
            params.unwrap(),
            [
                ("code".to_owned(), "a+b".to_owned()),
                ("state".to_owned(), "s 1".to_owned()),
                ("iss".to_owned(), "http://i".to_owned())
            ]
        );
        assert!(redirect_params("/favicon.ico", "/callback").is_none());
        assert_eq!(
            form(&[("a", "x y"), ("resource", "http://h:1/mcp?q=1&r")]),
            "a=x+y&resource=http%3A%2F%2Fh%3A1%2Fmcp%3Fq%3D1%26r"
        );
    }
}
