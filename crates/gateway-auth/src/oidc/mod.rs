//! The gateway as an OAuth 2.1 resource server for existing identity providers: access
//! tokens of trusted external issuers (RS256/ES256/EdDSA JWTs, keys from the issuer's
//! JWKS) become [`Principal`](crate::Principal)s next to the gateway's own tokens and
//! API keys.
//!
//! - `settings`: [`OAuthConfig`], [`IssuerConfig`], [`ClaimMapping`], [`TokenAlgorithm`].
//! - `verifier`: routing a token to its issuer and checking it (see there for the order).
//! - `issuer` + `fetch` + `keys`: each issuer's JWKS, discovered, fetched with bounds,
//!   refreshed on a schedule and on an unknown `kid` (rate-bound), single-flight.
//! - `claims`: claims → user name, role, scopes, templates.
//! - `cache`: verified tokens, so a reused token costs a SHA-256 and a lookup.
//! - `exchange` + `exchange_cache`: RFC 8693 token exchange for upstreams (a user's
//!   token for one an upstream accepts), cached per user and template.

mod cache;
mod claims;
mod exchange;
mod exchange_cache;
mod fetch;
mod issuer;
mod keys;
mod settings;
mod verifier;

pub use exchange::{ExchangeError, ExchangeRequest, TokenExchanger};
pub use settings::{
    ClaimMapping, ExchangeClient, IssuerConfig, OAuthConfig, TokenAlgorithm, check_url,
};
pub(crate) use verifier::{ExternalIssuers, Rejection};

#[cfg(test)]
mod tests;
