//! Which [`Connector`] a template's upstreams come from: the gateway's shared one,
//! adjusted to the template's stdio pool size and per-instance connection limits
//! (`upstream_limits`) and, when it has upstream TLS settings,
//! with an HTTP connection pool of its own that trusts its CA bundle and presents its
//! client certificate.
//!
//! Building one with TLS settings reads the PEM files (small local files, read on the
//! caller's thread: settings changes are rare and already serialised by the registry's
//! writer lock).

use std::num::NonZeroUsize;

use gateway_core::{LoadBalancerSettings, TemplateName};
use gateway_transport::{Connector, PoolLimits, TlsConfigError};

use super::RegistryError;

/// The connector for a template with `settings`.
pub(super) fn build(
    base: &Connector,
    settings: &LoadBalancerSettings,
) -> Result<Connector, TlsConfigError> {
    let connector = base.with_upstream_tls(settings.upstream_tls())?;
    Ok(with_settings(&connector, settings))
}

/// Like [`build`] for an API or configuration change: an unusable file is refused
/// (answered 400 naming the setting, `upstream_tls.ca_bundle`, ...).
pub(super) fn build_checked(
    base: &Connector,
    settings: &LoadBalancerSettings,
) -> Result<Connector, RegistryError> {
    build(base, settings).map_err(RegistryError::UpstreamTls)
}

/// Like [`build`] for settings loaded from the store at start-up: when the files are
/// gone or broken, the template's HTTPS upstreams fail closed (a connector that trusts
/// no CA) until its settings are set again; plain HTTP and stdio instances still work.
pub(super) fn build_or_refuse(
    base: &Connector,
    template: &TemplateName,
    settings: &LoadBalancerSettings,
) -> Connector {
    build(base, settings).unwrap_or_else(|e| {
        tracing::error!(
            %template,
            field = e.field(),
            error = %e.message(),
            "upstream TLS settings unusable: the template's HTTPS upstreams fail until they are set again"
        );
        with_settings(&base.with_refusing_tls(), settings)
    })
}

/// `connector` (sharing its HTTP settings) with the template's stdio processes per
/// instance and per-instance connection limits.
pub(super) fn with_settings(connector: &Connector, settings: &LoadBalancerSettings) -> Connector {
    let pool = usize::try_from(settings.pool_size())
        .ok()
        .and_then(NonZeroUsize::new)
        .unwrap_or(NonZeroUsize::MIN);
    let limits = pool_limits(settings);
    let options = connector.options();
    if pool == options.stdio_processes && limits == options.pool_limits {
        connector.clone()
    } else {
        connector.with_options(|o| {
            o.stdio_processes = pool;
            o.pool_limits = limits;
        })
    }
}

/// Whether a settings change needs the template's instances reconnected: another stdio
/// pool size, or other per-instance limits (connection pools and admission gates are
/// made with the instance).
pub(super) fn connection_changed(old: &LoadBalancerSettings, new: &LoadBalancerSettings) -> bool {
    old.pool_size() != new.pool_size() || old.upstream_limits() != new.upstream_limits()
}

fn pool_limits(settings: &LoadBalancerSettings) -> PoolLimits {
    let limits = settings.upstream_limits();
    let size = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    PoolLimits {
        max_connections: Some(size(limits.max_connections())),
        max_idle: Some(size(limits.idle_connections())),
    }
}
