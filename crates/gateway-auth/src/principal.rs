//! [`Principal`]: an authenticated caller and what it may do.

use std::{num::NonZeroU32, sync::Arc};

use gateway_core::{Role, Scope, Scopes, TemplateAccess, Username};
use gateway_store::{ApiKeyRecord, UserRecord};

use crate::{
    Secret,
    error::{Error, Result},
};

/// Who is calling: a user (with a JWT) or one of its API keys, with the effective
/// scopes and templates (a key's are intersected with its owner's current ones), or a
/// user of an external identity provider (an OAuth access token of a trusted issuer:
/// no local account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `alice`, or `ISSUER:SUBJECT` for an identity provider's user.
    name: Arc<str>,
    /// The local account (a key's owner); `None` for an identity provider's user.
    user: Option<Username>,
    /// The issuer's short name, for an identity provider's user.
    issuer: Option<Arc<str>>,
    role: Role,
    scopes: Scopes,
    templates: TemplateAccess,
    key_id: Option<Arc<str>>,
    rate_limit: Option<NonZeroU32>,
    /// `user:NAME`, `key:ID` or `oidc:ISSUER:SUBJECT`: the audit actor and the
    /// rate-limit key.
    actor: Arc<str>,
    /// The identity provider's access token it authenticated with (external users).
    token: Option<Arc<ExternalToken>>,
}

/// The access token of a trusted identity provider that a principal authenticated with:
/// what `passthrough` forwards and `token_exchange` presents as its subject token. The
/// gateway's own tokens and API keys never become one. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq)]
pub struct ExternalToken {
    token: Secret,
    audiences: Box<[String]>,
    expires_at: u64,
}

impl ExternalToken {
    pub(crate) fn new(token: &str, audiences: Box<[String]>, expires_at: u64) -> Self {
        Self {
            token: Secret::new(token),
            audiences,
            expires_at,
        }
    }

    /// The token itself: read it only where it is sent.
    pub fn secret(&self) -> &Secret {
        &self.token
    }

    /// Its verified `aud` values.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// Its `exp`, Unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

impl std::fmt::Debug for ExternalToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalToken")
            .field("token", &self.token)
            .field("audiences", &self.audiences)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Principal {
    /// A user acting with its own role.
    pub fn user(user: &UserRecord) -> Principal {
        Principal {
            name: user.username.as_str().into(),
            user: Some(user.username.clone()),
            issuer: None,
            role: user.role,
            scopes: user.role.scopes(),
            templates: user.templates.clone(),
            key_id: None,
            rate_limit: None,
            actor: format!("user:{}", user.username).into(),
            token: None,
        }
    }

    /// `key` of `owner`: its scopes and templates within the owner's.
    pub fn api_key(key: &ApiKeyRecord, owner: &UserRecord) -> Principal {
        Principal {
            name: owner.username.as_str().into(),
            user: Some(owner.username.clone()),
            issuer: None,
            role: owner.role,
            scopes: key.scopes.intersect(owner.role.scopes()),
            templates: key.templates.intersect(&owner.templates),
            key_id: Some(key.id.as_str().into()),
            rate_limit: key.rate_limit.and_then(NonZeroU32::new),
            actor: format!("key:{}", key.id).into(),
            token: None,
        }
    }

    /// A user of the identity provider `issuer` (its short name), identified there as
    /// `subject`: named `ISSUER:SUBJECT` (no local user name has a `:`, so the two never
    /// clash), audited as `oidc:ISSUER:SUBJECT`, rate-limited by role.
    pub fn external(
        issuer: &str,
        subject: &str,
        role: Role,
        scopes: Scopes,
        templates: TemplateAccess,
    ) -> Principal {
        Principal {
            name: format!("{issuer}:{subject}").into(),
            user: None,
            issuer: Some(issuer.into()),
            role,
            scopes,
            templates,
            key_id: None,
            rate_limit: None,
            actor: format!("oidc:{issuer}:{subject}").into(),
            token: None,
        }
    }

    /// This principal with the identity provider's token it authenticated with.
    pub(crate) fn with_token(mut self, token: ExternalToken) -> Principal {
        self.token = Some(Arc::new(token));
        self
    }

    /// The identity provider's access token, for a user of one (never the gateway's own
    /// tokens or API keys).
    pub fn external_token(&self) -> Option<&ExternalToken> {
        self.token.as_deref()
    }

    /// The user name: a local user (a key's owner), or `ISSUER:SUBJECT`.
    pub fn username(&self) -> &str {
        &self.name
    }

    /// The local account, `None` for an identity provider's user.
    pub fn local_user(&self) -> Option<&Username> {
        self.user.as_ref()
    }

    /// The identity provider's short name, for its users.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Effective scopes.
    pub fn scopes(&self) -> Scopes {
        self.scopes
    }

    /// Effective templates.
    pub fn templates(&self) -> &TemplateAccess {
        &self.templates
    }

    /// The key id, when authenticated with an API key.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// A per-key request limit (per minute), if the key has one.
    pub fn rate_limit(&self) -> Option<NonZeroU32> {
        self.rate_limit
    }

    /// `user:NAME` or `key:ID`.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Whether the principal holds `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }

    /// `Ok` if the principal holds `scope`, else [`Error::MissingScope`].
    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(Error::MissingScope(scope))
        }
    }

    /// Whether `template` may be used.
    pub fn allows_template(&self, template: &str) -> bool {
        self.templates.allows(template)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, templates: Option<&[&str]>) -> UserRecord {
        UserRecord {
            username: Username::parse("alice").unwrap(),
            password_hash: String::new(),
            role,
            active: true,
            templates: TemplateAccess::parse_list(templates).unwrap(),
            token_version: 0,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn keys_never_exceed_their_owner() {
        let owner = user(Role::User, Some(&["a", "b"]));
        let key = ApiKeyRecord {
            id: "0123456789abcdef".into(),
            name: "k".into(),
            owner: owner.username.clone(),
            secret_hash: String::new(),
            scopes: Scopes::all(),
            templates: TemplateAccess::parse_list(Some(["b", "c"])).unwrap(),
            rate_limit: Some(10),
            created_at_ms: 0,
            expires_at_ms: None,
            revoked_at_ms: None,
            last_used_at_ms: None,
        };
        let p = Principal::api_key(&key, &owner);
        assert_eq!(p.scopes(), Role::User.scopes());
        assert!(p.allows_template("b") && !p.allows_template("a") && !p.allows_template("c"));
        assert_eq!(p.actor(), "key:0123456789abcdef");
        assert_eq!(p.key_id(), Some("0123456789abcdef"));
        assert_eq!(p.rate_limit().map(NonZeroU32::get), Some(10));
        assert!(matches!(
            p.require(Scope::Admin),
            Err(Error::MissingScope(Scope::Admin))
        ));
        p.require(Scope::McpCall).unwrap();
    }

    #[test]
    fn users_get_their_role() {
        let admin = Principal::user(&user(Role::Admin, None));
        assert!(admin.has(Scope::Admin) && admin.allows_template("anything"));
        assert_eq!(admin.actor(), "user:alice");
        assert_eq!(admin.key_id(), None);
        assert_eq!(admin.local_user().map(Username::as_str), Some("alice"));
    }

    #[test]
    fn external_users_have_no_account() {
        let p = Principal::external(
            "corp",
            "alice@example.org",
            Role::User,
            Scopes::of([Scope::McpRead]),
            TemplateAccess::All,
        );
        assert_eq!(p.username(), "corp:alice@example.org");
        assert_eq!(p.actor(), "oidc:corp:alice@example.org");
        assert_eq!((p.local_user(), p.issuer()), (None, Some("corp")));
        assert!(p.has(Scope::McpRead) && !p.has(Scope::McpCall));
        assert!(Username::parse(p.username()).is_err(), "never a local name");
    }
}
