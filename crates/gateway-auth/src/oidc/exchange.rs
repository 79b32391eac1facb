//! [`TokenExchanger`]: RFC 8693 token exchange at a trusted issuer, for templates whose
//! `upstream_auth` is `token_exchange`.
//!
//! The caller's own access token (it must be one of that same issuer: a token is never
//! shown to another identity provider) is the `subject_token`; the gateway authenticates
//! as its configured client (HTTP Basic) and asks for an access token for the
//! upstream's `audience` (and `resource`, `scope` when set). The result is cached per
//! user, template and exchange parameters until shortly before it expires, so a user's
//! calls cost one exchange per token lifetime. The gateway's own tokens and API keys
//! are never exchanged: such callers get [`ExchangeError::NoSubjectToken`].

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

use super::{
    cache::Digest32,
    exchange_cache::ExchangeCache,
    fetch::{FetchError, Fetcher},
    settings::{ExchangeClient, IssuerConfig},
};
use crate::{Principal, Secret, error::Result};

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Longest accepted exchanged token, bytes.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// How long before its expiry a cached token stops being used, at most (a tenth of its
/// lifetime when that is less, at least one second).
const MAX_MARGIN: Duration = Duration::from_secs(60);
/// Exchanges for the same key run one at a time (the others then find the cached token);
/// keys share these locks by their hash, so the lock table stays fixed in size.
const STRIPES: usize = 64;

/// What to exchange for.
#[derive(Debug, Clone, Copy)]
pub struct ExchangeRequest<'a> {
    /// The template the token is for (part of the cache key).
    pub template: &'a str,
    /// The issuer's short name.
    pub issuer: &'a str,
    /// The `audience` asked for: what the upstream accepts.
    pub audience: &'a str,
    /// The RFC 8707 `resource` asked for, if any.
    pub resource: Option<&'a str>,
    /// The `scope` asked for, if any.
    pub scope: Option<&'a str>,
}

/// Why no exchanged token is available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The caller did not authenticate with an identity provider's token (a gateway
    /// token or API key): there is nothing to exchange, and those are never forwarded.
    #[error(
        "this template's upstream gets a token exchanged for your identity-provider \
         token (upstream_auth token_exchange): log in through the identity provider; \
         gateway tokens and API keys are not exchanged or forwarded"
    )]
    NoSubjectToken,
    /// The caller's token is another issuer's: it is not shown to this one.
    #[error(
        "this template's upstream gets tokens exchanged at issuer {0:?}: log in through \
         that identity provider"
    )]
    OtherIssuer(String),
    /// The template names an issuer without an exchange client.
    #[error("issuer {0:?} is not configured for token exchange")]
    UnknownIssuer(String),
    /// The issuer refused the exchange (its OAuth error code).
    #[error("the identity provider refused the token exchange ({0})")]
    Refused(String),
    /// The issuer could not be asked, or answered something unusable.
    #[error("the token exchange at issuer {issuer:?} failed: {reason}")]
    Unavailable {
        /// The issuer's short name.
        issuer: String,
        /// What went wrong (no token or URL in it).
        reason: String,
    },
}

impl ExchangeError {
    /// Whether the caller's credentials are the cause (else the issuer or the
    /// configuration is).
    pub fn is_caller_error(&self) -> bool {
        matches!(
            self,
            ExchangeError::NoSubjectToken
                | ExchangeError::OtherIssuer(_)
                | ExchangeError::Refused(_)
        )
    }
}

/// One issuer's exchange client.
struct Client {
    name: String,
    issuer: String,
    /// `Basic base64(urlencode(id):urlencode(secret))`.
    basic: Secret,
    configured_endpoint: Option<String>,
    discovered_endpoint: parking_lot::Mutex<Option<String>>,
}

/// The issuers' exchange clients and the exchanged tokens.
pub struct TokenExchanger {
    clients: Vec<Client>,
    fetcher: Fetcher,
    cache: ExchangeCache,
    /// Single flight per cache key (striped).
    stripes: Box<[tokio::sync::Mutex<()>]>,
}

impl std::fmt::Debug for TokenExchanger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchanger")
            .field(
                "issuers",
                &self.clients.iter().map(|c| &c.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl TokenExchanger {
    /// The exchange clients of `issuers`; `None` when none has one.
    pub fn new(issuers: &[IssuerConfig]) -> Result<Option<TokenExchanger>> {
        let clients: Vec<Client> = issuers
            .iter()
            .filter_map(|i| i.token_exchange.as_ref().map(|c| client(i, c)))
            .collect();
        if clients.is_empty() {
            return Ok(None);
        }
        Ok(Some(TokenExchanger {
            clients,
            fetcher: Fetcher::new()?,
            cache: ExchangeCache::default(),
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }))
    }

    /// Whether issuer `name` (short name) has an exchange client.
    pub fn knows(&self, name: &str) -> bool {
        self.clients.iter().any(|c| c.name == name)
    }

    /// An access token for `principal`'s user for `request`'s audience: cached, or
    /// exchanged now.
    pub async fn token(
        &self,
        principal: &Principal,
        request: &ExchangeRequest<'_>,
    ) -> Result<Secret, ExchangeError> {
        let client = self
            .clients
            .iter()
            .find(|c| c.name == request.issuer)
            .ok_or_else(|| ExchangeError::UnknownIssuer(request.issuer.to_owned()))?;
        let subject = principal
            .external_token()
            .ok_or(ExchangeError::NoSubjectToken)?;
        if principal.issuer() != Some(client.name.as_str()) {
            return Err(ExchangeError::OtherIssuer(client.name.clone()));
        }
        let key = cache_key(principal.actor(), request);
        if let Some(token) = self.cache.get(&key, Instant::now()) {
            return Ok(token);
        }
        // Concurrent first calls of one user exchange once: the others wait here and
        // find the token cached.
        let _flight = self.stripes[usize::from(key[0]) % STRIPES].lock().await;
        if let Some(token) = self.cache.get(&key, Instant::now()) {
            return Ok(token);
        }
        let endpoint = self.endpoint(client).await?;
        let mut form = vec![
            ("grant_type", GRANT_TYPE),
            ("subject_token", subject.secret().expose()),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("requested_token_type", ACCESS_TOKEN_TYPE),
            ("audience", request.audience),
        ];
        if let Some(resource) = request.resource {
            form.push(("resource", resource));
        }
        if let Some(scope) = request.scope {
            form.push(("scope", scope));
        }
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let unavailable = |reason: String| ExchangeError::Unavailable {
            issuer: client.name.clone(),
            reason,
        };
        let started = Instant::now();
        let (status, answer) = self
            .fetcher
            .post_form(&endpoint, client.basic.expose(), body)
            .await
            .map_err(|e| unavailable(fetch_reason(&e)))?;
        let issued = parse_answer(status, &answer).map_err(|e| match e {
            Answer::Refused(code) => ExchangeError::Refused(code),
            Answer::Invalid(reason) => unavailable(reason),
        })?;
        tracing::debug!(issuer = %client.name, template = request.template, "token exchanged for an upstream");
        if let Some(life) = issued.expires_in.filter(|l| !l.is_zero()) {
            let margin = (life / 10).clamp(Duration::from_secs(1), MAX_MARGIN);
            if life > margin {
                let now = Instant::now();
                self.cache
                    .insert(key, issued.token.clone(), started + (life - margin), now);
            }
        }
        Ok(issued.token)
    }

    /// The client's token endpoint: configured, or discovered once.
    async fn endpoint(&self, client: &Client) -> Result<String, ExchangeError> {
        if let Some(url) = &client.configured_endpoint {
            return Ok(url.clone());
        }
        if let Some(url) = client.discovered_endpoint.lock().clone() {
            return Ok(url);
        }
        let url = self
            .fetcher
            .discover(&client.issuer, "token_endpoint")
            .await
            .map_err(|e| ExchangeError::Unavailable {
                issuer: client.name.clone(),
                reason: fetch_reason(&e),
            })?;
        *client.discovered_endpoint.lock() = Some(url.clone());
        Ok(url)
    }
}

fn client(issuer: &IssuerConfig, exchange: &ExchangeClient) -> Client {
    let credentials = format!(
        "{}:{}",
        urlencode(&exchange.client_id),
        urlencode(exchange.client_secret.expose())
    );
    Client {
        name: issuer.name.clone(),
        issuer: issuer.issuer.clone(),
        basic: Secret::new(format!("Basic {}", STANDARD.encode(credentials))),
        configured_endpoint: exchange.token_endpoint.clone(),
        discovered_endpoint: parking_lot::Mutex::new(None),
    }
}

/// The cache key: the user (its audit actor), the template and every exchange
/// parameter, so a settings change never serves a token asked for differently.
fn cache_key(actor: &str, request: &ExchangeRequest<'_>) -> Digest32 {
    let mut hash = Sha256::new();
    for part in [
        actor,
        request.template,
        request.issuer,
        request.audience,
        request.resource.unwrap_or(""),
        request.scope.unwrap_or(""),
    ] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

/// A fetch failure without the URL's query (there is none) or any token.
fn fetch_reason(e: &FetchError) -> String {
    match e {
        FetchError::Status { status, .. } => format!("HTTP {status}"),
        FetchError::Transport { source, .. } => {
            if source.is_timeout() {
                "timed out".to_owned()
            } else if source.is_connect() {
                "cannot connect".to_owned()
            } else {
                "transport error".to_owned()
            }
        }
        FetchError::TooLarge { .. } => "the answer is too large".to_owned(),
        FetchError::Invalid { reason, .. } => reason.clone(),
    }
}

/// An exchange's result.
#[derive(Debug)]
struct Issued {
    token: Secret,
    expires_in: Option<Duration>,
}

/// Why an answer gives no token.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// An OAuth error answer (4xx with `error`): its code, sanitised.
    Refused(String),
    /// Anything else unusable.
    Invalid(String),
}

fn parse_answer(status: u16, body: &[u8]) -> Result<Issued, Answer> {
    #[derive(serde::Deserialize)]
    struct Success {
        access_token: String,
        token_type: Option<String>,
        expires_in: Option<u64>,
    }
    #[derive(serde::Deserialize)]
    struct Failure {
        error: String,
    }
    if status != 200 {
        return match serde_json::from_slice::<Failure>(body) {
            Ok(f) if (400..500).contains(&status) => Err(Answer::Refused(
                f.error
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(64)
                    .collect(),
            )),
            _ => Err(Answer::Invalid(format!("HTTP {status}"))),
        };
    }
    let ok: Success = serde_json::from_slice(body)
        .map_err(|_| Answer::Invalid("the answer is not a token response".to_owned()))?;
    if ok
        .token_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        return Err(Answer::Invalid(
            "the token is not a Bearer token".to_owned(),
        ));
    }
    if ok.access_token.is_empty()
        || ok.access_token.len() > MAX_TOKEN_LEN
        || !ok.access_token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Answer::Invalid("the access token is malformed".to_owned()));
    }
    Ok(Issued {
        token: Secret::new(ok.access_token),
        expires_in: ok.expires_in.map(Duration::from_secs),
    })
}

/// `application/x-www-form-urlencoded` encoding of a value (RFC 6749 appendix B).
fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        let ok = parse_answer(
            200,
            br#"{"access_token":"abc.def","token_type":"Bearer","expires_in":300}"#,
        )
        .unwrap();
        assert_eq!(ok.token.expose(), "abc.def");
        assert_eq!(ok.expires_in, Some(Duration::from_secs(300)));
        assert_eq!(
            parse_answer(400, br#"{"error":"invalid_grant<script>"}"#).unwrap_err(),
            Answer::Refused("invalid_grantscript".to_owned())
        );
        assert!(matches!(
            parse_answer(500, b"oops").unwrap_err(),
            Answer::Invalid(_)
        ));
        assert!(matches!(
            parse_answer(200, br#"{"access_token":"a b","token_type":"Bearer"}"#).unwrap_err(),
            Answer::Invalid(_)
        ));
        assert!(matches!(
            parse_answer(200, br#"{"access_token":"ab","token_type":"DPoP"}"#).unwrap_err(),
            Answer::Invalid(_)
        ));
    }

    #[test]
    fn encodes_and_keys() {
        assert_eq!(urlencode("a b:c/d"), "a%20b%3Ac%2Fd");
        let req = |template| ExchangeRequest {
            template,
            issuer: "corp",
            audience: "up",
            resource: None,
            scope: None,
        };
        assert_ne!(cache_key("u", &req("a")), cache_key("u", &req("b")));
        assert_ne!(cache_key("u", &req("a")), cache_key("v", &req("a")));
        // Length-prefixed: moving a boundary changes the key.
        assert_ne!(cache_key("ua", &req("")), cache_key("u", &req("a")));
    }
}
