//! Users and API keys: the rules for who may create, change and see what (logins are in
//! `login`).
//!
//! - Only admins (scope `admin`) manage users; nobody can remove the last active admin.
//! - API keys are created by people: a caller authenticated with a password (a JWT from
//!   `/auth/login`) creates keys; a caller authenticated with an API key cannot, so a
//!   leaked key can never mint another (nor one that outlives its revocation).
//! - Anyone logged in manages its own keys; admins manage everybody's. A key may list
//!   its owner's keys and revoke itself; revoking another key with a key needs the
//!   `admin` scope.
//! - A key never holds more than its owner nor the caller creating it: scopes within
//!   both, templates within both (a creator limited to templates who names none gets
//!   its own list, not "all"), and a rate limit above the owner's role default only
//!   when an admin sets it.
//! - Changing a user's password, role, active flag or templates bumps its token version,
//!   which invalidates its outstanding tokens. A new user starts at a random version, so
//!   the tokens of a deleted user never match a later user of the same name.

use std::num::NonZeroU32;

use gateway_core::{
    Role, Scope, Scopes, TemplateAccess, Username,
    api::{CreateApiKey, CreateUser, UpdateUser},
};
use gateway_store::{ApiKeyRecord, Store, UserChanges, UserRecord};

use crate::{
    Authenticator, Principal, Secret, api_key,
    authenticate::now_ms,
    error::{Error, Result},
    password,
    secret::{hex, random_bytes, random_token},
};

/// The user created on first start.
pub const BOOTSTRAP_ADMIN: &str = "admin";
/// Highest per-key rate limit, per minute.
const MAX_RATE_LIMIT: u32 = 10_000_000;
/// Why a key cannot create keys (the 403's detail).
const KEYS_CANNOT_CREATE_KEYS: &str = "API keys cannot create API keys; log in with a password \
     (mcpp gateway login) to create keys";
/// Why an identity provider's user cannot create a key for itself.
const EXTERNAL_USERS_OWN_NO_KEYS: &str = "API keys belong to local users: a user signed in \
     through an identity provider has none (an admin may name a local `owner`)";
/// Why a key cannot revoke its siblings.
const KEYS_REVOKE_ONLY_THEMSELVES: &str = "an API key can revoke only itself; log in with a \
     password (mcpp gateway login) to revoke other keys";

/// The admin created on first start.
#[derive(Debug)]
pub struct BootstrapAdmin {
    /// Its name (`admin`).
    pub username: Username,
    /// The generated password, when none was configured: print it once.
    pub generated_password: Option<Secret>,
}

/// A validated new user, before its password is hashed.
struct NewUser {
    username: Username,
    role: Role,
    templates: TemplateAccess,
    active: bool,
}

impl NewUser {
    /// Validates `request` (name, password policy, role, templates).
    fn validate(request: &CreateUser) -> Result<NewUser> {
        let username = Username::parse(&request.username)
            .map_err(|e| Error::invalid("username", e.to_string()))?;
        password::check_policy(&request.username, &request.password)?;
        Ok(NewUser {
            username,
            role: parse_role(request.role.as_deref())?.unwrap_or(Role::User),
            templates: parse_templates(request.templates.as_deref())?,
            active: request.active.unwrap_or(true),
        })
    }

    /// The row, with `password_hash` and a random first token version.
    fn into_record(self, password_hash: String) -> Result<UserRecord> {
        let now = now_ms();
        Ok(UserRecord {
            username: self.username,
            password_hash,
            role: self.role,
            active: self.active,
            templates: self.templates,
            token_version: first_token_version()?,
            created_at_ms: now,
            updated_at_ms: now,
        })
    }
}

/// A random token version in `0..2^52` (exact in any JSON reader) for a new user: a
/// user deleted and created again under the same name gets another one, so tokens
/// issued to the first never authenticate the second.
fn first_token_version() -> Result<i64> {
    let bits = u64::from_le_bytes(random_bytes::<8>()?) >> 12;
    Ok(i64::try_from(bits).unwrap_or_default())
}

/// Creates a user directly in the database (the CLI's offline `create-user`: whoever can
/// write the database is trusted). Same validation as the API.
pub async fn create_user_offline(
    store: &Store,
    request: &CreateUser,
    cost: u32,
) -> Result<UserRecord> {
    password::check_cost(cost)?;
    let user = NewUser::validate(request)?;
    let record = user.into_record(password::hash(request.password.clone(), cost).await?)?;
    insert_user(store, &record).await?;
    Ok(record)
}

async fn insert_user(store: &Store, record: &UserRecord) -> Result<()> {
    store.insert_user(record).await.map_err(|e| match e {
        gateway_store::Error::Conflict { .. } => Error::Conflict {
            what: "user",
            key: record.username.to_string(),
        },
        other => Error::Store(other),
    })
}

fn parse_role(role: Option<&str>) -> Result<Option<Role>> {
    role.map(|r| {
        r.parse()
            .map_err(|e: gateway_core::ValidationError| Error::invalid("role", e.to_string()))
    })
    .transpose()
}

/// `None` = every template.
fn parse_templates(templates: Option<&[String]>) -> Result<TemplateAccess> {
    TemplateAccess::parse_list(templates).map_err(|e| Error::invalid("templates", e.to_string()))
}

impl Authenticator {
    /// On a database with no user: creates `admin` with the configured password, or a
    /// generated one returned for printing once. `None` when users exist (or another
    /// replica created the admin first).
    pub async fn bootstrap_admin(&self) -> Result<Option<BootstrapAdmin>> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let (password, generated) = match &self.config.admin_password {
            Some(p) => (p.clone(), false),
            None => (Secret::new(random_token::<18>()?), true),
        };
        let request = CreateUser {
            username: BOOTSTRAP_ADMIN.to_owned(),
            password: password.expose().to_owned(),
            role: Some(Role::Admin.as_str().to_owned()),
            templates: None,
            active: Some(true),
        };
        let user = NewUser::validate(&request).map_err(|e| match e {
            Error::Invalid { message, .. } => Error::Config {
                key: "MCP_GATEWAY_ADMIN_PASSWORD",
                message,
            },
            other => other,
        })?;
        let hash = password::hash(request.password.clone(), self.config.bcrypt_cost).await?;
        let record = user.into_record(hash)?;
        match insert_user(&self.store, &record).await {
            Ok(()) => Ok(Some(BootstrapAdmin {
                username: record.username,
                generated_password: generated.then_some(password),
            })),
            Err(Error::Conflict { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // === users (admin only) ===

    /// Creates a user.
    pub async fn create_user(&self, actor: &Principal, request: &CreateUser) -> Result<UserRecord> {
        actor.require(Scope::Admin)?;
        let user = NewUser::validate(request)?;
        let hash = self
            .hashing
            .hash(request.password.clone(), self.config.bcrypt_cost)
            .await?;
        let record = user.into_record(hash)?;
        insert_user(&self.store, &record).await?;
        self.forget_user(record.username.as_str());
        Ok(record)
    }

    /// Every user.
    pub async fn list_users(&self, actor: &Principal) -> Result<Vec<UserRecord>> {
        actor.require(Scope::Admin)?;
        Ok(self.store.list_users().await?)
    }

    /// One user (admins: anyone; others: themselves).
    pub async fn get_user(&self, actor: &Principal, name: &str) -> Result<UserRecord> {
        if !actor.has(Scope::Admin) && actor.username() != name {
            return Err(Error::MissingScope(Scope::Admin));
        }
        self.store
            .get_user(name)
            .await?
            .ok_or_else(|| user_not_found(name))
    }

    /// Changes a user; its existing tokens stop working.
    pub async fn update_user(
        &self,
        actor: &Principal,
        name: &str,
        request: &UpdateUser,
    ) -> Result<UserRecord> {
        actor.require(Scope::Admin)?;
        let current = self
            .store
            .get_user(name)
            .await?
            .ok_or_else(|| user_not_found(name))?;
        let role = parse_role(request.role.as_deref())?;
        let templates = match request.templates.as_deref() {
            None => None,
            Some([]) => Some(TemplateAccess::All),
            Some(list) => Some(parse_templates(Some(list))?),
        };
        let demoted = role.is_some_and(|r| r != Role::Admin) || request.active == Some(false);
        if current.role == Role::Admin && current.active && demoted {
            self.ensure_another_admin().await?;
        }
        let password_hash = match &request.password {
            Some(p) => {
                password::check_policy(name, p)?;
                Some(
                    self.hashing
                        .hash(p.clone(), self.config.bcrypt_cost)
                        .await?,
                )
            }
            None => None,
        };
        let changes = UserChanges {
            password_hash,
            role,
            active: request.active,
            templates,
        };
        let updated = self
            .store
            .update_user(name, &changes)
            .await?
            .ok_or_else(|| user_not_found(name))?;
        self.forget_user(name);
        Ok(updated)
    }

    /// Deletes a user and its keys.
    pub async fn delete_user(&self, actor: &Principal, name: &str) -> Result<()> {
        actor.require(Scope::Admin)?;
        let current = self
            .store
            .get_user(name)
            .await?
            .ok_or_else(|| user_not_found(name))?;
        if current.role == Role::Admin && current.active {
            self.ensure_another_admin().await?;
        }
        if !self.store.delete_user(name).await? {
            return Err(user_not_found(name));
        }
        self.forget_user(name);
        Ok(())
    }

    async fn ensure_another_admin(&self) -> Result<()> {
        if self.store.count_active_admins().await? <= 1 {
            return Err(Error::LastAdmin);
        }
        Ok(())
    }

    // === API keys ===

    /// Creates a key; returns it in full (shown once) and its row.
    pub async fn create_api_key(
        &self,
        actor: &Principal,
        request: &CreateApiKey,
    ) -> Result<(Secret, ApiKeyRecord)> {
        if actor.key_id().is_some() {
            return Err(Error::Forbidden(KEYS_CANNOT_CREATE_KEYS));
        }
        let name = request.name.trim();
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(Error::invalid("name", "must be 1-128 printable characters"));
        }
        let owner_name = match (request.owner.as_deref(), actor.local_user()) {
            (Some(owner), _) => owner,
            (None, Some(own)) => own.as_str(),
            (None, None) => return Err(Error::Forbidden(EXTERNAL_USERS_OWN_NO_KEYS)),
        };
        if Some(owner_name) != actor.local_user().map(Username::as_str) {
            actor.require(Scope::Admin)?;
        }
        let owner = self
            .store
            .get_user(owner_name)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| user_not_found(owner_name))?;
        let scopes = match (&request.scopes, parse_role(request.role.as_deref())?) {
            (Some(list), preset) => {
                let scopes = Scopes::parse_list(list)
                    .map_err(|e| Error::invalid("scopes", e.to_string()))?;
                // A role and scopes together: the scopes narrow the role's preset.
                if let Some(role) = preset
                    && let Some(extra) = scopes.first_missing_from(role.scopes())
                {
                    return Err(Error::invalid(
                        "scopes",
                        format!(
                            "{extra} is not among the {role} role's scopes ({}); leave out `role`, or choose a role that has it",
                            role.scopes()
                        ),
                    ));
                }
                scopes
            }
            (None, Some(role)) => role.scopes(),
            // Neither: the `user` role's scopes (within the owner's). `admin` and
            // `gateway:write` are never given unless asked for.
            (None, None) => Role::User.scopes().intersect(owner.role.scopes()),
        };
        if scopes.is_empty() {
            return Err(Error::invalid("scopes", "a key needs at least one scope"));
        }
        // Within the owner's role and within the caller's own scopes.
        let ceiling = owner.role.scopes().intersect(actor.scopes());
        if let Some(missing) = scopes.first_missing_from(ceiling) {
            return Err(Error::MissingScope(missing));
        }
        let templates = match request.templates.as_deref() {
            Some(list) => {
                let templates = parse_templates(Some(list))?;
                if !templates.is_subset_of(&owner.templates.intersect(actor.templates())) {
                    return Err(Error::Forbidden(
                        "the key's templates must be within its owner's and yours",
                    ));
                }
                templates
            }
            // No list from an unrestricted caller: the owner's templates, whatever they
            // become (intersected at use).
            None if *actor.templates() == TemplateAccess::All => TemplateAccess::All,
            // From a caller limited to templates: what it may use itself (and the
            // owner may), fixed now, so the key shows exactly what it can reach.
            None => actor.templates().intersect(&owner.templates),
        };
        let expires_at_ms = match request.expires_in {
            None => None,
            Some(0) => return Err(Error::invalid("expires_in", "must be at least 1 second")),
            Some(secs) if secs > CreateApiKey::MAX_LIFETIME_SECS => {
                return Err(Error::invalid("expires_in", "must be at most 10 years"));
            }
            Some(secs) => {
                Some(now_ms().saturating_add(i64::try_from(secs * 1000).unwrap_or(i64::MAX)))
            }
        };
        if let Some(limit) = request.rate_limit {
            if !(1..=MAX_RATE_LIMIT).contains(&limit) {
                return Err(Error::invalid(
                    "rate_limit",
                    format!("must be between 1 and {MAX_RATE_LIMIT} requests per minute"),
                ));
            }
            let default = self.config.rate_limits.for_role(owner.role);
            if NonZeroU32::new(limit).is_some_and(|l| l > default) && !actor.has(Scope::Admin) {
                return Err(Error::Forbidden(
                    "only admins may raise a key's rate limit above its role's",
                ));
            }
        }
        for _ in 0..3 {
            let key = api_key::generate()?;
            let record = ApiKeyRecord {
                id: key.id,
                name: name.to_owned(),
                owner: owner.username.clone(),
                secret_hash: hex(&self.hasher.digest(&key.secret)),
                scopes,
                templates: templates.clone(),
                rate_limit: request.rate_limit,
                created_at_ms: now_ms(),
                expires_at_ms,
                revoked_at_ms: None,
                last_used_at_ms: None,
            };
            match self.store.insert_api_key(&record).await {
                Ok(()) => return Ok((Secret::new(key.full), record)),
                // A 64-bit id collision: draw again.
                Err(gateway_store::Error::Conflict { .. }) => continue,
                Err(gateway_store::Error::NotFound { .. }) => {
                    return Err(user_not_found(owner_name));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Random)
    }

    /// Keys the caller may see: its own, or (admins) everybody's or `owner`'s.
    pub async fn list_api_keys(
        &self,
        actor: &Principal,
        owner: Option<&str>,
    ) -> Result<Vec<ApiKeyRecord>> {
        let own = actor.local_user();
        let owner = match owner {
            Some(name) if Some(name) != own.map(Username::as_str) => {
                actor.require(Scope::Admin)?;
                Some(Username::parse(name).map_err(|e| Error::invalid("owner", e.to_string()))?)
            }
            Some(_) => own.cloned(),
            None if actor.has(Scope::Admin) => None,
            // An identity provider's user owns no keys.
            None => match own {
                Some(own) => Some(own.clone()),
                None => return Ok(Vec::new()),
            },
        };
        Ok(self.store.list_api_keys(owner.as_ref()).await?)
    }

    /// Revokes a key (the caller's own, or any for admins); it stops working at once on
    /// this replica and within the cache TTL on others. Someone else's key reads as not
    /// found. A caller authenticated with a key (without the `admin` scope) may revoke
    /// only that key.
    pub async fn revoke_api_key(&self, actor: &Principal, id: &str) -> Result<ApiKeyRecord> {
        let not_found = || Error::NotFound {
            what: "api key",
            key: id.chars().take(80).collect(),
        };
        let key = self.store.get_api_key(id).await?.ok_or_else(not_found)?;
        let is_admin = actor.has(Scope::Admin);
        if actor.local_user() != Some(&key.owner) && !is_admin {
            return Err(not_found());
        }
        if actor.key_id().is_some_and(|own| own != key.id) && !is_admin {
            return Err(Error::Forbidden(KEYS_REVOKE_ONLY_THEMSELVES));
        }
        let revoked = self
            .store
            .revoke_api_key(id, now_ms())
            .await?
            .ok_or_else(not_found)?;
        self.forget_key(id);
        Ok(revoked)
    }
}

fn user_not_found(name: &str) -> Error {
    Error::NotFound {
        what: "user",
        key: name.chars().take(80).collect(),
    }
}
