//! Records of the auth tables (users, API keys, audit events), as `gateway-auth` reads
//! and writes them. Plain data: the sea-orm models stay in `entity`.

use std::fmt;

use gateway_core::{Role, Scopes, TemplateAccess, Username};

/// A user row. `Debug` never shows the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Login name (primary key).
    pub username: Username,
    /// bcrypt hash of the password.
    pub password_hash: String,
    /// Role preset.
    pub role: Role,
    /// Whether the user may log in and use its tokens and keys.
    pub active: bool,
    /// Templates the user may use.
    pub templates: TemplateAccess,
    /// Bumped on every security-relevant change; tokens carry the version they were
    /// issued under.
    pub token_version: i64,
    /// Unix ms.
    pub created_at_ms: i64,
    /// Unix ms.
    pub updated_at_ms: i64,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("active", &self.active)
            .field("templates", &self.templates)
            .field("token_version", &self.token_version)
            .finish_non_exhaustive()
    }
}

/// Changes to a user; `None` keeps a field. Any change bumps the token version.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// New bcrypt hash.
    pub password_hash: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New active flag.
    pub active: Option<bool>,
    /// New template allowlist.
    pub templates: Option<TemplateAccess>,
}

impl fmt::Debug for UserChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserChanges")
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("role", &self.role)
            .field("active", &self.active)
            .field("templates", &self.templates)
            .finish()
    }
}

/// An API key row. `Debug` never shows the secret hash.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The key id (primary key; the visible part of the key).
    pub id: String,
    /// Label.
    pub name: String,
    /// Owning user.
    pub owner: Username,
    /// Hex HMAC-SHA-256 of the key's secret.
    pub secret_hash: String,
    /// Granted scopes.
    pub scopes: Scopes,
    /// Template allowlist (intersected with the owner's when used).
    pub templates: TemplateAccess,
    /// Requests per minute, if set for this key.
    pub rate_limit: Option<u32>,
    /// Unix ms.
    pub created_at_ms: i64,
    /// Unix ms.
    pub expires_at_ms: Option<i64>,
    /// Unix ms.
    pub revoked_at_ms: Option<i64>,
    /// Unix ms.
    pub last_used_at_ms: Option<i64>,
}

impl fmt::Debug for ApiKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("secret_hash", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("templates", &self.templates)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("revoked_at_ms", &self.revoked_at_ms)
            .finish_non_exhaustive()
    }
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditRecord {
    /// Sequence number (assigned by the database; ignored on insert).
    pub id: i64,
    /// Unix ms.
    pub at_ms: i64,
    /// `user:NAME` or `key:ID`.
    pub actor: Option<String>,
    /// What happened (`login`, `user.create`, ...).
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// `success`, `failure`, `denied`.
    pub outcome: String,
    /// Client address.
    pub client_addr: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
}

/// Which audit entries to list (all conditions must hold), newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact action.
    pub action: Option<String>,
    /// Exact outcome.
    pub outcome: Option<String>,
    /// Exact target.
    pub target: Option<String>,
    /// At or after, Unix ms.
    pub since_ms: Option<i64>,
    /// Before, Unix ms.
    pub until_ms: Option<i64>,
    /// At most this many entries.
    pub limit: u64,
}

impl Default for AuditFilter {
    fn default() -> Self {
        Self {
            actor: None,
            action: None,
            outcome: None,
            target: None,
            since_ms: None,
            until_ms: None,
            limit: 100,
        }
    }
}
