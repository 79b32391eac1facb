//! [`Authenticator`]: credential → [`Principal`], with a short-TTL cache so the request
//! path touches neither the database nor bcrypt.
//!
//! Per request: a JWT costs one HMAC-SHA-256 verification plus a cache lookup of the
//! user's state (active flag, token version, role, templates); an API key costs one
//! HMAC-SHA-256 plus a constant-time comparison and a cache lookup. The cache entry of a
//! user or key is re-read from the database once it is older than
//! [`AuthConfig::cache_ttl`] (5 s by default). So a change made through this process
//! (disabling a user, a new password, a revoked key) applies immediately, and one made on
//! another replica applies here within `cache_ttl`. Key `last_used` times are written in
//! batches by [`Authenticator::spawn_maintenance`], never per request.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Weak},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use gateway_store::{ApiKeyRecord, Store, UserRecord};
use parking_lot::{Mutex, RwLock};
use tokio::task::JoinHandle;

use crate::{
    AuthConfig, Principal,
    api_key::{self, KeyHasher},
    error::{Error, Result},
    fleet::RedisLink,
    hashing::HashingGate,
    jwt::JwtKeys,
    oidc::{ExternalIssuers, Rejection},
    password,
    secret::{random_bytes, unhex32},
    throttles::Throttles,
};

/// A boxed future borrowing the authenticator.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Most cached users or keys; beyond it, stale entries are dropped (then all).
const MAX_CACHED: usize = 50_000;
/// How often usage is written and caches are pruned.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(5);
/// Names of the generated secrets in `gateway_secrets`.
const JWT_SECRET: &str = "jwt_hs256_key";
const KEY_HASH_SECRET: &str = "api_key_hmac_key";

/// A credential as presented.
#[derive(Clone, Copy)]
pub enum Credential<'a> {
    /// `Authorization: Bearer <value>`: a JWT, or an API key (recognised by its prefix).
    Bearer(&'a str),
    /// `X-API-Key: <value>`.
    ApiKey(&'a str),
}

/// A cached row: `None` records that it does not exist.
struct Cached<T> {
    fetched: Instant,
    value: Option<Arc<T>>,
}

/// What the request path needs to know about a user.
pub(crate) struct UserState {
    pub(crate) record: UserRecord,
    pub(crate) principal: Arc<Principal>,
}

/// What the request path needs to know about a key.
struct KeyState {
    hash: [u8; 32],
    expires_at_ms: Option<i64>,
    revoked: bool,
    owner: String,
    /// `None` when the owner is missing or disabled.
    principal: Option<Arc<Principal>>,
}

/// Authenticates credentials and manages users and keys (see `accounts`).
pub struct Authenticator {
    pub(crate) store: Store,
    pub(crate) config: AuthConfig,
    pub(crate) jwt: JwtKeys,
    pub(crate) hasher: KeyHasher,
    users: RwLock<HashMap<String, Cached<UserState>>>,
    keys: RwLock<HashMap<String, Cached<KeyState>>>,
    /// Key id → last use (Unix ms), written out by the maintenance task.
    usage: Mutex<HashMap<String, i64>>,
    /// Logins per (user, address), per address and per user, and invalid credentials
    /// per address: in Redis when shared, else in memory.
    pub(crate) throttles: Arc<Throttles>,
    /// Bounds concurrent and queued bcrypt work (logins, password changes).
    pub(crate) hashing: HashingGate,
    /// Trusted external issuers of access tokens, if configured.
    pub(crate) external: Option<Arc<ExternalIssuers>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Loads (or generates and stores, once) the server secrets and checks `config`.
    /// Throttles are kept in this process's memory.
    pub async fn open(store: Store, config: AuthConfig) -> Result<Authenticator> {
        Self::open_shared(store, config, None).await
    }

    /// [`Authenticator::open`] for a fleet: login throttling and lockouts are counted in
    /// Redis through `shared` (in memory while it is unreachable).
    pub async fn open_shared(
        store: Store,
        config: AuthConfig,
        shared: Option<Arc<RedisLink>>,
    ) -> Result<Authenticator> {
        password::check_cost(config.bcrypt_cost)?;
        let jwt_secret = match &config.jwt_secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => stored_secret(&store, JWT_SECRET).await?,
        };
        let jwt = JwtKeys::new(
            &jwt_secret,
            &config.issuer,
            &config.audience,
            config.token_ttl,
        )?;
        let hasher = KeyHasher::new(&stored_secret(&store, KEY_HASH_SECRET).await?);
        let external = match &config.oauth {
            Some(oauth) => Some(Arc::new(ExternalIssuers::new(oauth)?)),
            None => None,
        };
        Ok(Authenticator {
            store,
            config,
            jwt,
            hasher,
            users: RwLock::new(HashMap::new()),
            keys: RwLock::new(HashMap::new()),
            usage: Mutex::new(HashMap::new()),
            throttles: Arc::new(Throttles::new(shared)),
            hashing: HashingGate::for_this_host(),
            external,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The principal a credential stands for.
    ///
    /// Fails with [`Error::InvalidCredentials`] (saying nothing about why), with
    /// [`Error::Throttled`] when `client` sent too many invalid credentials recently, or
    /// with [`Error::Store`] when the state had to be read and the database failed.
    pub async fn authenticate(
        &self,
        credential: Credential<'_>,
        client: Option<IpAddr>,
    ) -> Result<Arc<Principal>> {
        self.authenticate_at(credential, client, None).await
    }

    /// [`Authenticator::authenticate`] for a request to `resource_path`: the path of the
    /// MCP endpoint the request is for (`/mcp` or `/mcp/{template}`), if any. An external
    /// issuer's token is accepted when its `aud` names the gateway's resource identifier,
    /// one of the issuer's configured audiences, or this endpoint's own resource
    /// identifier (the resource identifier followed by `resource_path`, as the endpoint's
    /// protected resource metadata advertises it).
    ///
    /// Also fails with [`Error::Forbidden`] for an external user whose token maps to no
    /// role when the issuer has no default role. An issuer whose keys cannot be loaded
    /// has its tokens refused ([`Error::InvalidCredentials`], logged), without counting
    /// against the client.
    pub async fn authenticate_at(
        &self,
        credential: Credential<'_>,
        client: Option<IpAddr>,
        resource_path: Option<&str>,
    ) -> Result<Arc<Principal>> {
        let external = match (&self.external, credential) {
            (Some(external), Credential::Bearer(token)) => {
                external.route(token).map(|index| (external, index, token))
            }
            _ => None,
        };
        let result = match (credential, external) {
            (_, Some((external, index, token))) => {
                let gate = || match client {
                    Some(ip) => self.throttles.check_address_here(ip),
                    None => Ok(()),
                };
                match external.verify(index, token, resource_path, gate).await {
                    Ok(principal) => Ok(principal),
                    Err(Rejection::Invalid(reason)) => {
                        tracing::debug!(reason, "external token rejected");
                        Err(Error::InvalidCredentials)
                    }
                    Err(Rejection::Throttled(retry_after)) => Err(Error::Throttled { retry_after }),
                    Err(Rejection::NoRole) => Err(Error::Forbidden(
                        "your identity provider account has no role on this gateway",
                    )),
                    // Not the client's fault: refused, but not counted against it.
                    Err(Rejection::Unavailable) => return Err(Error::InvalidCredentials),
                }
            }
            (Credential::ApiKey(key), None) => self.authenticate_key(key, client).await,
            (Credential::Bearer(value), None) if value.starts_with(api_key::PREFIX) => {
                self.authenticate_key(value, client).await
            }
            (Credential::Bearer(token), None) => self.authenticate_jwt(token, client).await,
        };
        if let (Err(Error::InvalidCredentials), Some(ip)) = (&result, client) {
            self.throttles.address_failed(ip);
        }
        result
    }

    /// Before a cache miss reaches the database: refuses a client that sent too many
    /// invalid credentials recently (so garbage keys cannot hammer the database). Cache
    /// hits skip this: they cost no database work.
    ///
    /// Boxed: only cache misses and invalid credentials get here, and the Redis call's
    /// future is large; the request path's future only carries the box.
    fn check_client(&self, client: Option<IpAddr>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let Some(ip) = client else { return Ok(()) };
            self.throttles
                .check_address(ip)
                .await
                .map_err(|retry_after| Error::Throttled { retry_after })
        })
    }

    /// [`Authenticator::check_client`], then `error` (boxed, like it).
    fn refuse(
        &self,
        client: Option<IpAddr>,
        error: Error,
    ) -> BoxFuture<'_, Result<Arc<Principal>>> {
        Box::pin(async move {
            self.check_client(client).await?;
            Err(error)
        })
    }

    async fn authenticate_jwt(
        &self,
        token: &str,
        client: Option<IpAddr>,
    ) -> Result<Arc<Principal>> {
        // Only what is needed later is kept: the future carries it across the awaits.
        let verified = self
            .jwt
            .verify(token)
            .map(|claims| (claims.sub, claims.ver));
        let (sub, ver) = match verified {
            Ok(kept) => kept,
            Err(e) => return self.refuse(client, e).await,
        };
        let state = self
            .user_state(&sub, client)
            .await?
            .ok_or(Error::InvalidCredentials)?;
        if !state.record.active || state.record.token_version != ver {
            return Err(Error::InvalidCredentials);
        }
        Ok(state.principal.clone())
    }

    async fn authenticate_key(
        &self,
        presented: &str,
        client: Option<IpAddr>,
    ) -> Result<Arc<Principal>> {
        let Some(parts) = api_key::parse(presented) else {
            return self.refuse(client, Error::InvalidCredentials).await;
        };
        let state = self
            .key_state(parts.id, client)
            .await?
            .ok_or(Error::InvalidCredentials)?;
        if !self.hasher.matches(parts.secret, &state.hash) {
            return Err(Error::InvalidCredentials);
        }
        let now = now_ms();
        if state.revoked || state.expires_at_ms.is_some_and(|at| at <= now) {
            return Err(Error::InvalidCredentials);
        }
        let principal = state.principal.clone().ok_or(Error::InvalidCredentials)?;
        let mut usage = self.usage.lock();
        match usage.get_mut(parts.id) {
            Some(at) => *at = now,
            None => {
                usage.insert(parts.id.to_owned(), now);
            }
        }
        Ok(principal)
    }

    /// The name of user `name` if it exists (from the cache while fresh); `None` for
    /// unknown or invalid names, and when the database cannot say.
    pub async fn known_user(&self, name: &str) -> Option<gateway_core::Username> {
        gateway_core::Username::parse(name).ok()?;
        let state = self.user_state(name, None).await.ok()??;
        Some(state.record.username.clone())
    }

    /// The user's state, from the cache while it is fresh.
    pub(crate) async fn user_state(
        &self,
        name: &str,
        client: Option<IpAddr>,
    ) -> Result<Option<Arc<UserState>>> {
        if let Some(hit) = fresh(&self.users.read(), name, self.config.cache_ttl) {
            return Ok(hit);
        }
        self.check_client(client).await?;
        // Boxed: the database future is large, and only cache misses need it.
        Box::pin(self.load_user(name)).await
    }

    async fn load_user(&self, name: &str) -> Result<Option<Arc<UserState>>> {
        let value = self.store.get_user(name).await?.map(|record| {
            Arc::new(UserState {
                principal: Arc::new(Principal::user(&record)),
                record,
            })
        });
        insert(
            &mut self.users.write(),
            name,
            value.clone(),
            self.config.cache_ttl,
        );
        Ok(value)
    }

    async fn key_state(&self, id: &str, client: Option<IpAddr>) -> Result<Option<Arc<KeyState>>> {
        if let Some(hit) = fresh(&self.keys.read(), id, self.config.cache_ttl) {
            return Ok(hit);
        }
        self.check_client(client).await?;
        Box::pin(self.load_key(id)).await
    }

    async fn load_key(&self, id: &str) -> Result<Option<Arc<KeyState>>> {
        let value = match self.store.get_api_key(id).await? {
            Some(record) => Some(Arc::new(self.key_state_of(&record).await?)),
            None => None,
        };
        insert(
            &mut self.keys.write(),
            id,
            value.clone(),
            self.config.cache_ttl,
        );
        Ok(value)
    }

    async fn key_state_of(&self, key: &ApiKeyRecord) -> Result<KeyState> {
        let owner = self.user_state(key.owner.as_str(), None).await?;
        let principal = owner
            .filter(|o| o.record.active)
            .map(|o| Arc::new(Principal::api_key(key, &o.record)));
        Ok(KeyState {
            // A hash that does not decode matches nothing: all-zero never equals an HMAC
            // of a 256-bit secret in practice, and `revoked` is forced below.
            hash: unhex32(&key.secret_hash).unwrap_or([0; 32]),
            expires_at_ms: key.expires_at_ms,
            revoked: key.revoked_at_ms.is_some() || unhex32(&key.secret_hash).is_none(),
            owner: key.owner.to_string(),
            principal,
        })
    }

    /// Drops cached state of user `name` and of its keys: after a change through this
    /// process, or one another replica made (the server's change feed calls this), so it
    /// applies at once rather than when the cache entry expires.
    pub fn forget_user(&self, name: &str) {
        self.users.write().remove(name);
        self.keys
            .write()
            .retain(|_, k| k.value.as_ref().is_none_or(|state| state.owner != name));
    }

    /// Drops the cached state of key `id` (see [`Authenticator::forget_user`]).
    pub fn forget_key(&self, id: &str) {
        self.keys.write().remove(id);
    }

    /// Drops every cached user and key (after the change feed lost track of changes).
    pub fn forget_all(&self) {
        self.users.write().clear();
        self.keys.write().clear();
    }

    /// Writes pending key `last_used` times.
    pub async fn flush_usage(&self) -> Result<()> {
        let pending: Vec<(String, i64)> = self.usage.lock().drain().collect();
        if pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.store.record_api_key_use(&pending).await {
            // Put them back (newer uses win) for the next attempt.
            let mut usage = self.usage.lock();
            for (id, at) in pending {
                usage.entry(id).or_insert(at);
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Every 5 s: writes key usage and prunes caches and throttles. Also starts one task
    /// per external issuer that loads its signing keys now and refreshes them (see
    /// [`crate::oidc`]). All end when the authenticator is dropped.
    pub fn spawn_maintenance(self: &Arc<Self>) -> JoinHandle<()> {
        if let Some(external) = &self.external {
            // They end when the issuers are dropped with this authenticator.
            drop(external.spawn_refresh());
        }
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(MAINTENANCE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { break };
                if let Err(e) = this.flush_usage().await {
                    tracing::warn!(error = %e, "cannot record API key usage");
                }
                this.prune(Instant::now());
            }
        })
    }

    fn prune(&self, now: Instant) {
        let ttl = self.config.cache_ttl;
        self.users
            .write()
            .retain(|_, c| now.duration_since(c.fetched) < ttl);
        self.keys
            .write()
            .retain(|_, c| now.duration_since(c.fetched) < ttl);
        self.throttles.prune(now);
        if let Some(external) = &self.external {
            external.prune();
        }
    }
}

/// The cached value of `key` if it is younger than `ttl` (`Some(None)`: known missing).
fn fresh<T>(map: &HashMap<String, Cached<T>>, key: &str, ttl: Duration) -> Option<Option<Arc<T>>> {
    map.get(key)
        .filter(|c| c.fetched.elapsed() < ttl)
        .map(|c| c.value.clone())
}

fn insert<T>(
    map: &mut HashMap<String, Cached<T>>,
    key: &str,
    value: Option<Arc<T>>,
    ttl: Duration,
) {
    if map.len() >= MAX_CACHED && !map.contains_key(key) {
        map.retain(|_, c| c.fetched.elapsed() < ttl);
        if map.len() >= MAX_CACHED {
            map.clear();
        }
    }
    map.insert(
        key.to_owned(),
        Cached {
            fetched: Instant::now(),
            value,
        },
    );
}

/// A 256-bit server secret stored in the database (generated by the first process to
/// need it; every later process and replica reads the same one).
async fn stored_secret(store: &Store, name: &str) -> Result<Vec<u8>> {
    let candidate = STANDARD.encode(random_bytes::<32>()?);
    let stored = store.secret_or_insert(name, &candidate).await?;
    STANDARD
        .decode(stored.trim())
        .ok()
        .filter(|bytes| bytes.len() >= 32)
        .ok_or(Error::Config {
            key: "gateway_secrets",
            message: format!("the stored secret {name} is not 32 bytes of base64"),
        })
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
