//! [`AuthConfig`]: the validated settings of [`crate::Authenticator`].

use std::{num::NonZeroU32, time::Duration};

use gateway_core::Role;

use crate::{Secret, oidc::OAuthConfig, password::DEFAULT_COST};

/// How authentication behaves. The server builds this from its configuration.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// HS256 signing key (at least 32 bytes). `None`: generated once (256 bits) and kept
    /// in the database, so restarts and replicas agree.
    pub jwt_secret: Option<Secret>,
    /// `iss` of issued tokens, required on verification.
    pub issuer: String,
    /// `aud` of issued tokens, required on verification.
    pub audience: String,
    /// Token lifetime.
    pub token_ttl: Duration,
    /// bcrypt cost for new password hashes (see [`crate::password::check_cost`]).
    pub bcrypt_cost: u32,
    /// How long a user's or key's state is cached: the bound on how long a change made
    /// on another replica (disable, password change, revocation) takes to apply here.
    /// Changes made through this process apply at once.
    pub cache_ttl: Duration,
    /// Requests per minute per principal, by role (a key may set its own).
    pub rate_limits: RoleLimits,
    /// Password of the `admin` user created on first start (else one is generated).
    pub admin_password: Option<Secret>,
    /// Access tokens of external identity providers (`None`: only the gateway's own
    /// tokens and API keys).
    pub oauth: Option<OAuthConfig>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            issuer: "mcp-gateway".to_owned(),
            audience: "mcp-gateway".to_owned(),
            token_ttl: Duration::from_secs(3600),
            bcrypt_cost: DEFAULT_COST,
            cache_ttl: Duration::from_secs(5),
            rate_limits: RoleLimits::default(),
            admin_password: None,
            oauth: None,
        }
    }
}

/// Default request limits per role, per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleLimits {
    /// For admins (default 6000).
    pub admin: NonZeroU32,
    /// For users (default 1200).
    pub user: NonZeroU32,
}

impl Default for RoleLimits {
    fn default() -> Self {
        Self {
            admin: NonZeroU32::new(6000).unwrap_or(NonZeroU32::MIN),
            user: NonZeroU32::new(1200).unwrap_or(NonZeroU32::MIN),
        }
    }
}

impl RoleLimits {
    /// The limit of `role`.
    pub fn for_role(&self, role: Role) -> NonZeroU32 {
        match role {
            Role::Admin => self.admin,
            Role::User => self.user,
        }
    }
}
