//! Authentication and authorization at the HTTP edge, in request order:
//!
//! 1. `layer`: the client address is settled first (the TCP peer, or, when the peer is
//!    in `MCP_GATEWAY_TRUSTED_PROXIES`, the rightmost untrusted `X-Forwarded-For` hop;
//!    see `extract::ClientAddr`). Then public paths pass; otherwise the credential
//!    (`X-API-Key`, or `Authorization: Bearer` with a JWT or an API key) becomes a
//!    [`Principal`](gateway_auth::Principal) through `gateway_auth::Authenticator` (cached:
//!    no database or bcrypt per request), the route's scope and template allowlist are
//!    checked (`policy`), and the principal's rate limit is applied.
//!    With external OAuth issuers (`discovery`), tokens are checked against the MCP
//!    endpoint of the request too (RFC 8707 audiences), the protected resource metadata
//!    is served, and every challenge points at it (`challenge`).
//! 2. Handlers read the principal with [`Caller`] (`/auth/*`) or `Option<Caller>`
//!    (registration, where `registration` adds the stdio and SSRF rules).
//!
//! With authentication off (the default, loopback only) the layer lets everything
//! through and the gateway behaves as without this module, except for the optional
//! endpoint allowlist. Client credentials never reach upstreams: handlers build new
//! JSON-RPC requests and the transports never see inbound headers.

mod access;
pub(crate) mod challenge;
mod discovery;
mod extract;
mod layer;
mod login;
mod policy;
pub(crate) mod registration;
mod resource;
mod routes;

pub(crate) use access::Access;
pub(crate) use extract::{Caller, RequestMeta};
pub(crate) use layer::authorize;
pub(crate) use policy::is_public;
pub(crate) use routes::{AuthApi, routes};
