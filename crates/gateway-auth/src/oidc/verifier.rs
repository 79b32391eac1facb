//! [`ExternalIssuers`]: verifies access tokens of the trusted issuers.
//!
//! A token is routed by the `iss` it claims (read before verification only to pick the
//! issuer; nothing else is trusted until the signature checks). Then, in order: the
//! header's `alg` must be one the issuer allows (never HMAC or `none`), the key is found
//! by `kid` in the issuer's JWKS (an unknown `kid` fetches the JWKS again, rate-bound),
//! the signature, `exp` and `nbf` (with the issuer's leeway) are checked, `iss` must
//! equal the issuer exactly, and `aud` must name the gateway (its resource identifier,
//! the MCP endpoint of the request, or one of the issuer's configured audiences).

use std::{
    sync::{Arc, Weak},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::{Map, Value};
use tokio::task::JoinHandle;

use super::{
    cache::{Entry, TokenCache, digest},
    claims::{self, Refusal},
    fetch::Fetcher,
    issuer::{Issuer, Reason},
    settings::{OAuthConfig, TokenAlgorithm},
};
use crate::{Principal, error::Result, principal::ExternalToken};

/// Longest accepted external token, bytes (identity providers' tokens with group lists
/// can be long).
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why an external token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Invalid for the reason given (a fixed word, for the debug log).
    Invalid(&'static str),
    /// The issuer's keys cannot be loaded: refused (fail closed), not the client's fault.
    Unavailable,
    /// Valid, but no role maps to the user and the issuer has no default role.
    NoRole,
    /// Refused before verification: this client sent too many invalid credentials.
    Throttled(Duration),
}

/// The trusted issuers and what was verified.
pub(crate) struct ExternalIssuers {
    resource: String,
    issuers: Vec<Arc<Issuer>>,
    fetcher: Fetcher,
    cache: TokenCache,
}

impl ExternalIssuers {
    pub(crate) fn new(config: &OAuthConfig) -> Result<ExternalIssuers> {
        Ok(ExternalIssuers {
            resource: config.resource.trim_end_matches('/').to_owned(),
            issuers: config
                .issuers
                .iter()
                .map(|c| Arc::new(Issuer::new(c.clone())))
                .collect(),
            fetcher: Fetcher::new()?,
            cache: TokenCache::default(),
        })
    }

    /// The issuer whose `iss` the (unverified) token claims, if it is a trusted one.
    pub(crate) fn route(&self, token: &str) -> Option<usize> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let payload = token.split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
        #[derive(serde::Deserialize)]
        struct Iss {
            iss: Option<String>,
        }
        let iss = serde_json::from_slice::<Iss>(&bytes).ok()?.iss?;
        self.issuers.iter().position(|i| i.config.issuer == iss)
    }

    /// Verifies `token` of issuer `index` for a request to `resource_path` (the MCP
    /// endpoint's path under the gateway's resource identifier, e.g. `/mcp/fs`, if the
    /// request is for one). `gate` runs before any signature check (not for cached
    /// tokens): it may refuse a client that sent too many invalid credentials.
    pub(crate) async fn verify(
        &self,
        index: usize,
        token: &str,
        resource_path: Option<&str>,
        gate: impl FnOnce() -> Result<(), Duration>,
    ) -> Result<Arc<Principal>, Rejection> {
        let issuer = self
            .issuers
            .get(index)
            .ok_or(Rejection::Invalid("issuer"))?;
        let key = digest(token);
        let now = unix_now();
        if let Some(hit) = self.cache.get(&key) {
            let generation = issuer.keys().map(|k| k.generation);
            if hit.issuer == index && Some(hit.generation) == generation && hit.valid_until > now {
                return if self.audience_ok(issuer, &hit.audiences, resource_path) {
                    Ok(hit.principal.clone())
                } else {
                    Err(Rejection::Invalid("audience"))
                };
            }
            self.cache.remove(&key);
        }
        gate().map_err(Rejection::Throttled)?;
        // Boxed: key fetches make this future large, and cached tokens skip it.
        let (claims, generation) = Box::pin(self.check_signature(issuer, token)).await?;
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.config.issuer.as_str()) {
            return Err(Rejection::Invalid("issuer"));
        }
        let audiences = audiences(&claims);
        if !self.audience_ok(issuer, &audiences, resource_path) {
            return Err(Rejection::Invalid("audience"));
        }
        let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
        let held = ExternalToken::new(token, audiences.clone().into_boxed_slice(), exp);
        let principal = match claims::principal(&issuer.config, &claims) {
            Ok(p) => Arc::new(p.with_token(held)),
            Err(Refusal::NoSubject) => return Err(Rejection::Invalid("subject")),
            Err(Refusal::NoRole) => return Err(Rejection::NoRole),
        };
        self.cache.insert(
            key,
            Entry {
                issuer: index,
                generation,
                audiences: audiences.into_boxed_slice(),
                valid_until: exp.saturating_add(issuer.config.leeway.as_secs()),
                principal: principal.clone(),
            },
            now,
        );
        Ok(principal)
    }

    /// The claims of a token whose signature, `exp` and `nbf` check out, and the key
    /// generation that verified it.
    async fn check_signature(
        &self,
        issuer: &Issuer,
        token: &str,
    ) -> Result<(Map<String, Value>, u64), Rejection> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Rejection::Invalid("size"));
        }
        let header = decode_header(token).map_err(|_| Rejection::Invalid("malformed"))?;
        let alg = TokenAlgorithm::of(header.alg)
            .filter(|a| issuer.config.algorithms.contains(a))
            .ok_or(Rejection::Invalid("algorithm"))?;
        let kid = header.kid.as_deref();
        let mut keys = issuer.keys();
        if keys.is_none() {
            issuer.refresh(&self.fetcher, Reason::OnDemand).await;
            keys = Some(issuer.keys().ok_or(Rejection::Unavailable)?);
        }
        let mut set = keys.ok_or(Rejection::Unavailable)?;
        if set.find(kid, alg).is_none() {
            // Perhaps the issuer rotated its keys: look again (rate-bound).
            if issuer.refresh(&self.fetcher, Reason::OnDemand).await {
                set = issuer.keys().ok_or(Rejection::Unavailable)?;
            }
        }
        let key = set
            .find(kid, alg)
            .ok_or(Rejection::Invalid("unknown key"))?;
        let mut validation = Validation::new(alg.jwt());
        validation.algorithms = vec![alg.jwt()];
        validation.leeway = issuer.config.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = decode::<Map<String, Value>>(token, key, &validation)
            .map_err(|e| Rejection::Invalid(crate::jwt::rejection(&e)))?;
        Ok((data.claims, set.generation))
    }

    /// Whether `audiences` name this gateway for a request to `resource_path`.
    fn audience_ok(
        &self,
        issuer: &Issuer,
        audiences: &[String],
        resource_path: Option<&str>,
    ) -> bool {
        audiences.iter().any(|aud| {
            let aud = aud.strip_suffix('/').unwrap_or(aud);
            aud == self.resource
                || issuer.config.audiences.iter().any(|a| a == aud)
                || resource_path
                    .is_some_and(|path| aud.strip_prefix(self.resource.as_str()) == Some(path))
        })
    }

    /// Starts one background task per issuer that loads its keys now and refreshes them
    /// every `jwks_refresh` (sooner after a failure). They end when `self` is dropped.
    pub(crate) fn spawn_refresh(self: &Arc<Self>) -> Vec<JoinHandle<()>> {
        (0..self.issuers.len())
            .map(|index| {
                let weak: Weak<Self> = Arc::downgrade(self);
                tokio::spawn(async move {
                    loop {
                        let Some(this) = weak.upgrade() else { break };
                        let Some(issuer) = this.issuers.get(index).cloned() else {
                            break;
                        };
                        let ok = issuer.refresh(&this.fetcher, Reason::Scheduled).await;
                        let config = &issuer.config;
                        let wait = if ok {
                            config.jwks_refresh
                        } else {
                            config
                                .jwks_min_refetch
                                .max(Duration::from_secs(1))
                                .min(config.jwks_refresh)
                        };
                        drop(this);
                        tokio::time::sleep(wait).await;
                    }
                })
            })
            .collect()
    }

    /// Drops expired cached tokens.
    pub(crate) fn prune(&self) {
        self.cache.prune(unix_now());
    }

    #[cfg(test)]
    pub(crate) fn issuer(&self, index: usize) -> &Issuer {
        &self.issuers[index]
    }
}

/// A token's `aud` values (a string or an array of strings).
fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
