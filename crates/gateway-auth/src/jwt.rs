//! Access tokens: HS256 JWTs with `sub`, `role`, `scopes`, `iat`, `exp`, `jti`, `iss`,
//! `aud` and `ver` (the user's token version).
//!
//! Verification accepts exactly one algorithm (HS256): `alg: none`, any other algorithm,
//! a bad signature, an expired token (5 s leeway), a wrong issuer or audience, and a
//! token missing a required claim are all rejected. The key is at least 256 bits: from
//! the configuration, or generated once and stored in the database (see
//! [`crate::Authenticator::open`]). Rotating it (changing the configured secret) logs
//! everyone out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    secret::{hex, random_bytes},
};
use gateway_store::UserRecord;

/// Shortest accepted signing key, in bytes (256 bits).
pub const MIN_SECRET_LEN: usize = 32;
/// Longest accepted token, in bytes: anything longer is rejected unparsed.
const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Clock skew tolerated on `exp`.
const LEEWAY_SECS: u64 = 5;

/// The claims of a gateway token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    pub(crate) role: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) iat: u64,
    pub(crate) exp: u64,
    pub(crate) jti: String,
    pub(crate) iss: String,
    pub(crate) aud: String,
    /// The user's token version when the token was issued.
    pub(crate) ver: i64,
}

/// Signs and verifies tokens.
pub(crate) struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl JwtKeys {
    pub(crate) fn new(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> Result<Self> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::Config {
                key: "jwt_secret",
                message: format!("must be at least {MIN_SECRET_LEN} bytes (256 bits)"),
            });
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.set_audience(&[audience]);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        })
    }

    /// A token for `user`, and its lifetime in seconds.
    pub(crate) fn issue(&self, user: &UserRecord) -> Result<(String, u64)> {
        let now = unix_now();
        let ttl = self.ttl.as_secs().max(1);
        let claims = Claims {
            sub: user.username.to_string(),
            role: user.role.as_str().to_owned(),
            scopes: user.role.scopes().names(),
            iat: now,
            exp: now.saturating_add(ttl),
            jti: hex(&random_bytes::<16>()?),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            ver: user.token_version,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(Error::Signing)?;
        Ok((token, ttl))
    }

    /// The claims of a valid token; any failure is [`Error::InvalidCredentials`].
    pub(crate) fn verify(&self, token: &str) -> Result<Claims> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::InvalidCredentials);
        }
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(reason = rejection(&e), "token rejected");
                Error::InvalidCredentials
            })
    }
}

/// Why a token was rejected, as a fixed word (error texts could quote token parts).
pub(crate) fn rejection(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidSignature => "signature",
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => "algorithm",
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::ImmatureSignature => "not yet valid",
        ErrorKind::InvalidAudience => "audience",
        ErrorKind::InvalidIssuer => "issuer",
        ErrorKind::MissingRequiredClaim(_) => "missing claim",
        _ => "malformed",
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
