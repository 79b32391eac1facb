//! Wire shapes of `/auth/*`: login, users, API keys, the caller, the audit log.
//!
//! Secrets (passwords, tokens, API keys) appear only in the requests that carry them in
//! and in the two answers that hand them out ([`TokenResponse`], [`CreatedApiKey`]); the
//! `Debug` output of every type here redacts them. No response carries a password hash.

use std::fmt;

use serde::{Deserialize, Serialize};

const REDACTED: &str = "<redacted>";

/// `POST /auth/login` as JSON (the OAuth2 password form is accepted too).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &REDACTED)
            .finish()
    }
}

/// A successful login (the OAuth2 token response).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `POST /auth/users`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// User name (letters, digits, `_-.@`; at most 64 bytes).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    )]
    pub username: String,
    /// Password (see the password policy: at least 12 characters, not the user name).
    #[cfg_attr(feature = "openapi", schema(min_length = 12))]
    pub password: String,
    /// `admin` or `user` (default `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Templates this user may use; absent means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<String>>,
    /// Whether the user may log in (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

impl fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateUser")
            .field("username", &self.username)
            .field("password", &REDACTED)
            .field("role", &self.role)
            .field("templates", &self.templates)
            .field("active", &self.active)
            .finish()
    }
}

/// `PATCH /auth/users/{name}`: absent fields are kept. Changing the password, role,
/// active flag or templates invalidates the user's existing tokens.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// New role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Enable or disable the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// New template allowlist; an empty list removes the restriction (all templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<String>>,
}

impl fmt::Debug for UpdateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateUser")
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("role", &self.role)
            .field("active", &self.active)
            .field("templates", &self.templates)
            .finish()
    }
}

/// A user as the API shows it (never with its password hash).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// User name.
    pub username: String,
    /// `admin` or `user`.
    pub role: String,
    /// The scopes the role grants.
    pub scopes: Vec<String>,
    /// Whether the user may log in.
    pub active: bool,
    /// Template allowlist; `null` means all templates.
    pub templates: Option<Vec<String>>,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Last change, RFC 3339 UTC.
    pub updated_at: String,
}

/// `POST /auth/api-keys`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// A label for the key (e.g. the application using it).
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 128, pattern = "^[^\\x00-\\x1f\\x7f]+$")
    )]
    pub name: String,
    /// The user owning the key (admins only; default: the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    )]
    pub owner: Option<String>,
    /// Role preset for the key's scopes. Without `role` and `scopes` a key gets the
    /// `user` role's scopes (within the owner's): `admin` and `gateway:write` only
    /// when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Explicit scopes, within the owner's (and, with `role`, within its preset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Templates the key may use (within the owner's); absent means the owner's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<String>>,
    /// Lifetime in seconds; absent means no expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Requests per minute for this key (default: the role's limit; only admins may
    /// raise it above that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
}

impl CreateApiKey {
    /// The longest lifetime a key may be given (10 years).
    pub const MAX_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;
}

/// An API key as the API shows it (never with its secret or hash).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    /// The key id (the visible part of `mcpgw_<id>_<secret>`).
    pub id: String,
    /// Its label.
    pub name: String,
    /// The owning user.
    pub owner: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Template allowlist; `null` means the owner's.
    pub templates: Option<Vec<String>>,
    /// Requests per minute, if set for this key.
    pub rate_limit: Option<u32>,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Expiry, RFC 3339 UTC.
    pub expires_at: Option<String>,
    /// Last use, RFC 3339 UTC (updated in batches, so up to a few seconds behind).
    pub last_used_at: Option<String>,
    /// Revocation time, RFC 3339 UTC.
    pub revoked_at: Option<String>,
}

/// The answer to `POST /auth/api-keys`: the only time the key is shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
pub struct CreatedApiKey {
    /// The full key, `mcpgw_<id>_<secret>`. Store it now: it cannot be shown again.
    pub key: String,
    /// The key's details.
    #[serde(flatten)]
    pub info: ApiKeyInfo,
}

impl fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key", &REDACTED)
            .field("info", &self.info)
            .finish()
    }
}

/// `GET /auth/me`: who the caller is and what it may do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// `user` (a JWT), `api_key`, or `oauth` (an identity provider's access token;
    /// `username` is then `ISSUER:SUBJECT`).
    pub kind: String,
    /// The user (the key's owner for a key).
    pub username: String,
    /// The user's role.
    pub role: String,
    /// Effective scopes.
    pub scopes: Vec<String>,
    /// Effective template allowlist; `null` means all.
    pub templates: Option<Vec<String>>,
    /// The key id, for an API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// One audit log entry. Never holds a secret.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When, RFC 3339 UTC.
    pub time: String,
    /// Who (`user:NAME`, `key:ID`), if known.
    pub actor: Option<String>,
    /// What (`login`, `user.create`, `api_key.revoke`, `instance.register`, `authz.deny`, ...).
    pub action: String,
    /// On what (a user name, key id, template or path).
    pub target: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The request id (`X-Request-Id` if the client sent one).
    pub request_id: Option<String>,
}

/// `GET /auth/audit`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// Entries, newest first.
    pub events: Vec<AuditEntry>,
    /// How many entries are in `events`.
    pub count: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let login = LoginRequest {
            username: "alice".into(),
            password: "hunter2-hunter2".into(),
        };
        let token = TokenResponse {
            access_token: "eyJ.secret.sig".into(),
            token_type: "bearer".into(),
            expires_in: 60,
        };
        let user = CreateUser {
            username: "bob".into(),
            password: "hunter2-hunter2".into(),
            ..CreateUser::default()
        };
        let update = UpdateUser {
            password: Some("hunter2-hunter2".into()),
            ..UpdateUser::default()
        };
        let text = format!("{login:?} {token:?} {user:?} {update:?}");
        assert!(!text.contains("hunter2") && !text.contains("eyJ"), "{text}");
    }

    #[test]
    fn created_key_flattens_its_info() {
        let json = serde_json::json!({
            "key": "mcpgw_ab_cd", "id": "ab", "name": "app", "owner": "alice",
            "scopes": ["mcp:read"], "templates": null, "rate_limit": null,
            "created_at": "2026-01-01T00:00:00.000Z", "expires_at": null,
            "last_used_at": null, "revoked_at": null
        });
        let created: CreatedApiKey = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(created.info.id, "ab");
        assert!(!format!("{created:?}").contains("mcpgw_ab_cd"));
        assert_eq!(serde_json::to_value(&created).unwrap(), json);
    }
}
