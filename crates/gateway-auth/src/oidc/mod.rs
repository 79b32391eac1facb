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

mod cache;
mod claims;
mod fetch;
mod issuer;
mod keys;
mod settings;
mod verifier;

pub use settings::{ClaimMapping, IssuerConfig, OAuthConfig, TokenAlgorithm, check_url};
pub(crate) use verifier::{ExternalIssuers, Rejection};

#[cfg(test)]
mod tests;
