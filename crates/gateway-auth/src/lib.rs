//! Who is calling the MCP gateway and what may they do: users with bcrypt passwords,
//! HS256 JWTs, API keys stored as keyed hashes, scopes and role presets, per-principal
//! rate limits, login throttling and the audit log.
//!
//! The crate takes credentials as `&str` (reading headers is the server's job) and keeps
//! its state in `gateway-store`. The request path is cheap by construction:
//! [`Authenticator::authenticate`] checks a JWT signature or an API key's HMAC and reads
//! the user's or key's state from a cache refreshed every few seconds, so it touches
//! neither the database nor bcrypt.
//!
//! ```
//! use gateway_auth::{AuthConfig, Authenticator, Credential};
//! use gateway_core::{Scope, api::{CreateApiKey, CreateUser}};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = gateway_store::Store::connect("sqlite::memory:").await?;
//! store.migrate().await?;
//! let config = AuthConfig { bcrypt_cost: 4, ..AuthConfig::default() }; // tests only
//! let auth = Authenticator::open(store, config).await?;
//!
//! // First start: an `admin` user with a generated password (print it once).
//! let admin = auth.bootstrap_admin().await?.expect("empty database");
//! let password = admin.generated_password.expect("none configured");
//!
//! // Log in, then use the token.
//! let login = auth.login("admin", password.expose(), None).await?;
//! let me = auth.authenticate(Credential::Bearer(login.token.expose()), None).await?;
//! assert!(me.has(Scope::Admin));
//!
//! // An API key for a user, limited to listing.
//! auth.create_user(&me, &CreateUser {
//!     username: "app-owner".into(),
//!     password: "a long passphrase".into(),
//!     ..CreateUser::default()
//! }).await?;
//! let request = CreateApiKey {
//!     name: "ci".into(),
//!     owner: Some("app-owner".into()),
//!     scopes: Some(vec!["mcp:read".into()]),
//!     ..CreateApiKey::default()
//! };
//! let (key, _row) = auth.create_api_key(&me, &request).await?;
//! let caller = auth.authenticate(Credential::ApiKey(key.expose()), None).await?;
//! assert!(caller.has(Scope::McpRead) && !caller.has(Scope::McpCall));
//! # Ok(()) }
//! ```
//!
//! Access tokens of external identity providers (OAuth 2.1 resource server, RFC 8707
//! audiences, keys from the issuer's JWKS) work side by side with the gateway's own
//! tokens and keys: see [`oidc`].
//!
//! Main types: [`Authenticator`] (authentication, logins, users and keys), [`Principal`],
//! [`RateLimiter`] / [`MemoryRateLimiter`], [`Auditor`], [`EndpointAllowlist`],
//! [`TrustedProxies`], [`Error`].

mod accounts;
pub mod api_key;
mod audit;
mod authenticate;
mod config;
mod endpoint_allowlist;
mod error;
mod fleet;
mod hashing;
mod hop;
mod jwt;
pub use hop::{HOP_WINDOW_SECS, HopError, HopSigner, MIN_HOP_SECRET_LEN};
pub use jwt::MIN_SECRET_LEN as MIN_JWT_SECRET_LEN;
pub use login::IssuedToken;
mod login;
pub mod oidc;
pub mod password;
mod principal;
mod rate_limit;
mod seal;
mod secret;
mod throttle;
mod throttles;
mod trusted_proxies;
mod views;

pub use accounts::{BOOTSTRAP_ADMIN, BootstrapAdmin, create_user_offline};
pub use audit::{AuditEvent, Auditor, Outcome};
pub use authenticate::{Authenticator, Credential};
pub use config::{AuthConfig, RoleLimits};
pub use endpoint_allowlist::EndpointAllowlist;
pub use error::{Error, Result};
pub use fleet::{FleetRateLimiter, RedisLink};
pub use principal::{ExternalToken, Principal};
pub use rate_limit::{CheckFuture, Decision, MemoryRateLimiter, Quota, RateLimiter};
pub use seal::{MAX_TOKEN_LEN, SealError, SessionKey, SessionSealer};
pub use secret::Secret;
pub use throttle::ThrottlePolicy;
pub use trusted_proxies::TrustedProxies;
pub use views::{key_info, me, user_info};
