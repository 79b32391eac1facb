//! Records as the API shows them (never a hash or a secret).

use gateway_core::api::{ApiKeyInfo, Me, UserInfo, rfc3339};
use gateway_store::{ApiKeyRecord, UserRecord};

use crate::Principal;

/// The API view of a user.
pub fn user_info(user: &UserRecord) -> UserInfo {
    UserInfo {
        username: user.username.to_string(),
        role: user.role.as_str().to_owned(),
        scopes: user.role.scopes().names(),
        active: user.active,
        templates: user.templates.names(),
        created_at: rfc3339(user.created_at_ms),
        updated_at: rfc3339(user.updated_at_ms),
    }
}

/// The API view of a key.
pub fn key_info(key: &ApiKeyRecord) -> ApiKeyInfo {
    ApiKeyInfo {
        id: key.id.clone(),
        name: key.name.clone(),
        owner: key.owner.to_string(),
        scopes: key.scopes.names(),
        templates: key.templates.names(),
        rate_limit: key.rate_limit,
        created_at: rfc3339(key.created_at_ms),
        expires_at: key.expires_at_ms.map(rfc3339),
        last_used_at: key.last_used_at_ms.map(rfc3339),
        revoked_at: key.revoked_at_ms.map(rfc3339),
    }
}

/// `GET /auth/me`.
pub fn me(principal: &Principal) -> Me {
    Me {
        kind: if principal.key_id().is_some() {
            "api_key"
        } else if principal.issuer().is_some() {
            "oauth"
        } else {
            "user"
        }
        .to_owned(),
        username: principal.username().to_string(),
        role: principal.role().as_str().to_owned(),
        scopes: principal.scopes().names(),
        templates: principal.templates().names(),
        key_id: principal.key_id().map(str::to_owned),
    }
}
