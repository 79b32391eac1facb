//! [`Access`]: the authentication runtime every request consults.

use std::{num::NonZeroU32, sync::Arc};

use gateway_auth::oidc::OAuthConfig;
use gateway_auth::{
    AuditEvent, Auditor, Authenticator, BootstrapAdmin, EndpointAllowlist, FleetRateLimiter,
    MemoryRateLimiter, Principal, Quota, RateLimiter, RedisLink, TrustedProxies,
};
use gateway_store::Store;

use super::resource::Discovery;
use crate::{config::AuthSettings, metrics::Refusals};

/// Authentication state shared by all requests (in `AppState`).
pub(crate) struct Access {
    /// `None` when authentication is off.
    pub(crate) authenticator: Option<Arc<Authenticator>>,
    pub(crate) limiter: Arc<dyn RateLimiter>,
    pub(crate) auditor: Option<Auditor>,
    pub(crate) allow_stdio_registration: bool,
    pub(crate) endpoint_allowlist: Option<EndpointAllowlist>,
    /// Whose `X-Forwarded-For` names the client.
    pub(crate) trusted_proxies: TrustedProxies,
    /// Protected resource metadata and challenges, when external issuers are trusted.
    pub(crate) discovery: Option<Arc<Discovery>>,
    /// Refusals by reason (`/metrics`).
    pub(crate) refusals: Refusals,
}

/// What start-up did about the first admin.
pub(crate) type Bootstrap = Option<BootstrapAdmin>;

impl Access {
    /// Authentication off: only the endpoint allowlist applies.
    pub(crate) fn disabled(settings: &AuthSettings) -> Access {
        Access {
            authenticator: None,
            limiter: Arc::new(MemoryRateLimiter::new()),
            auditor: None,
            allow_stdio_registration: settings.allow_stdio_registration,
            endpoint_allowlist: settings.endpoint_allowlist.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            discovery: None,
            refusals: Refusals::default(),
        }
    }

    /// Authentication on: loads the server secrets, creates the first admin on an empty
    /// database, and starts the audit writer and the maintenance task. With `redis`,
    /// rate limits and login throttling are shared by the fleet (in memory while Redis
    /// is unreachable).
    pub(crate) async fn open(
        store: &Store,
        settings: &AuthSettings,
        oauth: Option<OAuthConfig>,
        redis: Option<&Arc<RedisLink>>,
    ) -> Result<(Access, Bootstrap), gateway_auth::Error> {
        let discovery = oauth.as_ref().map(|o| Arc::new(Discovery::new(o)));
        let config = gateway_auth::AuthConfig {
            oauth,
            ..settings.config.clone()
        };
        let authenticator =
            Arc::new(Authenticator::open_shared(store.clone(), config, redis.cloned()).await?);
        let bootstrap = authenticator.bootstrap_admin().await?;
        authenticator.spawn_maintenance();
        let (auditor, _writer) = Auditor::spawn(store.clone());
        let limiter: Arc<dyn RateLimiter> = match redis {
            Some(link) => Arc::new(FleetRateLimiter::new(link.clone())),
            None => Arc::new(MemoryRateLimiter::new()),
        };
        let access = Access {
            authenticator: Some(authenticator),
            auditor: Some(auditor),
            discovery,
            limiter,
            ..Access::disabled(settings)
        };
        Ok((access, bootstrap))
    }

    /// Whether requests must authenticate.
    pub(crate) fn is_enabled(&self) -> bool {
        self.authenticator.is_some()
    }

    /// The request quota of `principal`: its key's own, else its role's.
    pub(crate) fn quota(&self, principal: &Principal) -> Quota {
        let per_minute = principal.rate_limit().unwrap_or_else(|| {
            self.authenticator.as_ref().map_or(NonZeroU32::MAX, |a| {
                a.config().rate_limits.for_role(principal.role())
            })
        });
        Quota { per_minute }
    }

    /// Records an audit event (no-op with authentication off).
    /// The authenticator, or 503-style `AuthDisabled` when authentication is off.
    pub(crate) fn authenticator(&self) -> Result<&Authenticator, crate::error::ApiError> {
        self.authenticator
            .as_deref()
            .ok_or(crate::error::ApiError::AuthDisabled)
    }

    pub(crate) fn audit(&self, event: AuditEvent) {
        if let Some(auditor) = &self.auditor {
            auditor.record(event);
        }
    }

    /// Writes pending state (API key usage, queued audit events) before shutdown.
    pub(crate) async fn flush(&self) {
        if let Some(a) = &self.authenticator
            && let Err(e) = a.flush_usage().await
        {
            tracing::warn!(error = %e, "cannot record API key usage");
        }
        if let Some(auditor) = &self.auditor {
            auditor.flush().await;
        }
    }
}
