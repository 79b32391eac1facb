//! Logins, users and API keys: the rules for who may create, change and see what.
//!
//! - Only admins (scope `admin`) manage users; nobody can remove the last active admin.
//! - Anyone authenticated manages its own keys; admins manage everybody's.
//! - A key never holds more than its owner (scopes and templates) nor more than the
//!   caller creating it, so keys cannot escalate privileges.
//! - Changing a user's password, role, active flag or templates bumps its token version,
//!   which invalidates its outstanding tokens.

use std::{net::IpAddr, num::NonZeroU32, time::Instant};

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
    secret::{hex, random_token},
};

/// The user created on first start.
pub const BOOTSTRAP_ADMIN: &str = "admin";
/// Longest key lifetime: ten years.
const MAX_KEY_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;
/// Highest per-key rate limit, per minute.
const MAX_RATE_LIMIT: u32 = 10_000_000;

/// A successful login.
#[derive(Debug)]
pub struct IssuedToken {
    /// The JWT.
    pub token: Secret,
    /// Its lifetime in seconds.
    pub expires_in: u64,
    /// Who logged in.
    pub username: Username,
}

/// The admin created on first start.
#[derive(Debug)]
pub struct BootstrapAdmin {
    /// Its name (`admin`).
    pub username: Username,
    /// The generated password, when none was configured: print it once.
    pub generated_password: Option<Secret>,
}

/// Validates `request` and builds the row (hashing the password at `cost`).
async fn new_user_record(request: &CreateUser, cost: u32) -> Result<UserRecord> {
    let username = Username::parse(&request.username)
        .map_err(|e| Error::invalid("username", e.to_string()))?;
    password::check_policy(&request.username, &request.password)?;
    let role = parse_role(request.role.as_deref())?.unwrap_or(Role::User);
    let templates = parse_templates(request.templates.as_deref())?;
    let hash = password::hash(request.password.clone(), cost).await?;
    let now = now_ms();
    Ok(UserRecord {
        username,
        password_hash: hash,
        role,
        active: request.active.unwrap_or(true),
        templates,
        token_version: 0,
        created_at_ms: now,
        updated_at_ms: now,
    })
}

/// Creates a user directly in the database (the CLI's offline `create-user`: whoever can
/// write the database is trusted). Same validation as the API.
pub async fn create_user_offline(
    store: &Store,
    request: &CreateUser,
    cost: u32,
) -> Result<UserRecord> {
    password::check_cost(cost)?;
    let record = new_user_record(request, cost).await?;
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
    // === logins ===

    /// Checks a user name and password and issues a token.
    ///
    /// Failures are [`Error::InvalidCredentials`] whatever the reason (unknown user,
    /// wrong password, disabled user), and cost the same bcrypt time. Repeated failures
    /// for one user name or from one address lock them out with exponential back-off
    /// ([`Error::Throttled`]) before any password is checked.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<IssuedToken> {
        let now = Instant::now();
        let user_key = username.to_lowercase();
        let throttled = |retry_after| Error::Throttled { retry_after };
        self.login_by_user
            .check(&user_key, now)
            .map_err(throttled)?;
        if let Some(ip) = &client {
            self.login_by_addr.check(ip, now).map_err(throttled)?;
        }
        let user = match Username::parse(username) {
            Ok(_) => self.store.get_user(username).await?,
            Err(_) => None,
        };
        let hash = match &user {
            Some(u) if u.active => u.password_hash.clone(),
            _ => password::dummy_hash(self.config.bcrypt_cost),
        };
        let matches = password.len() <= password::MAX_BYTES && {
            let _permit = self.hashing.acquire().await.map_err(|_| Error::Hashing)?;
            password::verify(password.to_owned(), hash).await
        };
        let user = match user {
            Some(u) if u.active && matches => u,
            _ => {
                self.login_by_user.failure(&user_key, Instant::now());
                if let Some(ip) = &client {
                    self.login_by_addr.failure(ip, Instant::now());
                }
                return Err(Error::InvalidCredentials);
            }
        };
        self.login_by_user.success(&user_key);
        let (token, expires_in) = self.jwt.issue(&user)?;
        Ok(IssuedToken {
            token: Secret::new(token),
            expires_in,
            username: user.username,
        })
    }

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
        let record = new_user_record(&request, self.config.bcrypt_cost)
            .await
            .map_err(|e| match e {
                Error::Invalid { message, .. } => Error::Config {
                    key: "MCP_GATEWAY_ADMIN_PASSWORD",
                    message,
                },
                other => other,
            })?;
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
        let _permit = self.hashing.acquire().await.map_err(|_| Error::Hashing)?;
        let record = new_user_record(request, self.config.bcrypt_cost).await?;
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
        if !actor.has(Scope::Admin) && actor.username().as_str() != name {
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
                let _permit = self.hashing.acquire().await.map_err(|_| Error::Hashing)?;
                Some(password::hash(p.clone(), self.config.bcrypt_cost).await?)
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
        let name = request.name.trim();
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(Error::invalid("name", "must be 1-128 printable characters"));
        }
        let owner_name = request
            .owner
            .as_deref()
            .unwrap_or(actor.username().as_str());
        if owner_name != actor.username().as_str() {
            actor.require(Scope::Admin)?;
        }
        let owner = self
            .store
            .get_user(owner_name)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| user_not_found(owner_name))?;
        let scopes = match (&request.scopes, parse_role(request.role.as_deref())?) {
            (Some(list), _) => {
                Scopes::parse_list(list).map_err(|e| Error::invalid("scopes", e.to_string()))?
            }
            (None, Some(role)) => role.scopes(),
            (None, None) => owner.role.scopes(),
        };
        if scopes.is_empty() {
            return Err(Error::invalid("scopes", "a key needs at least one scope"));
        }
        // Within the owner's role and within the caller's own scopes.
        let ceiling = owner.role.scopes().intersect(actor.scopes());
        if let Some(missing) = scopes.first_missing_from(ceiling) {
            return Err(Error::MissingScope(missing));
        }
        // No list: the owner's templates, whatever they become (intersected at use).
        let templates = parse_templates(request.templates.as_deref())?;
        if request.templates.is_some()
            && !templates.is_subset_of(&owner.templates.intersect(actor.templates()))
        {
            return Err(Error::Forbidden(
                "the key's templates must be within its owner's and yours",
            ));
        }
        let expires_at_ms = match request.expires_in {
            None => None,
            Some(0) => return Err(Error::invalid("expires_in", "must be at least 1 second")),
            Some(secs) if secs > MAX_KEY_LIFETIME_SECS => {
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
        let owner = match owner {
            Some(name) if name != actor.username().as_str() => {
                actor.require(Scope::Admin)?;
                Some(Username::parse(name).map_err(|e| Error::invalid("owner", e.to_string()))?)
            }
            Some(_) => Some(actor.username().clone()),
            None if actor.has(Scope::Admin) => None,
            None => Some(actor.username().clone()),
        };
        Ok(self.store.list_api_keys(owner.as_ref()).await?)
    }

    /// Revokes a key (the caller's own, or any for admins); it stops working at once on
    /// this replica and within the cache TTL on others. Someone else's key reads as not
    /// found.
    pub async fn revoke_api_key(&self, actor: &Principal, id: &str) -> Result<ApiKeyRecord> {
        let not_found = || Error::NotFound {
            what: "api key",
            key: id.to_owned(),
        };
        let key = self.store.get_api_key(id).await?.ok_or_else(not_found)?;
        if key.owner != *actor.username() && !actor.has(Scope::Admin) {
            return Err(not_found());
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
