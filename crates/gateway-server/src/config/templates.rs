//! The configuration file's `templates` block (the guide's shape): per template, the
//! instances registered at start-up and its `load_balancer` settings, validated here
//! once (upstream TLS files are read and checked too).
//!
//! | file key (under `templates.{name}`) | default | meaning |
//! |---|---|---|
//! | `instances` | `[]` | registrations (`endpoint` or `command`, ...); ids default to `{name}-{n}` |
//! | `load_balancer.strategy`, `.health_check_interval`, `.health_check_timeout`, `.max_retries`, `.timeout`, `.pool_size`, `.health_probe`, `.session_mode`, `.max_sessions` | the gateway-wide defaults | as `PUT /gateway/templates/{t}/load-balancer` |
//! | `load_balancer.upstream_tls.ca_bundle` | none (system roots) | absolute path of a PEM file of CAs that the template's HTTPS upstreams are verified against |
//! | `load_balancer.upstream_tls.system_roots` | `false` with a `ca_bundle`, else `true` | trust the system's roots as well as `ca_bundle` |
//! | `load_balancer.upstream_tls.client_cert` | none | absolute path of the PEM client certificate chain presented to upstreams (mTLS); needs `client_key` |
//! | `load_balancer.upstream_tls.client_key` | none | absolute path of its PEM private key (PKCS#8, PKCS#1 or SEC1) |
//! | `load_balancer.upstream_auth` | `{"mode": "static"}` | which credentials the upstreams get: `none`, `static` (the instances' stored headers), `passthrough` (+ `audience`), `token_exchange` (+ `issuer`, `audience`, optional `resource`, `scope`); see `gateway_core::UpstreamAuth` |

use std::collections::BTreeMap;

use gateway_core::{
    LoadBalancerSettings, TemplateName,
    api::{LoadBalancerUpdate, RegisterInstance, ValidRegistration},
};
use serde::Deserialize;

use super::ConfigError;

/// One entry of the file's `templates` object.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TemplateFile {
    #[serde(default)]
    instances: Vec<RegisterInstance>,
    #[serde(default)]
    load_balancer: Option<LoadBalancerUpdate>,
}

/// A template declared in the configuration file.
#[derive(Debug, Clone)]
pub struct SeedTemplate {
    /// Its name.
    pub name: TemplateName,
    /// Settings to apply (over the defaults or the stored settings).
    pub load_balancer: Option<LoadBalancerUpdate>,
    /// Instances to register at start-up (ids default to `{template}-{n}`).
    pub instances: Vec<ValidRegistration>,
}

/// Validates every template of the file; errors name the key
/// (`templates.x.load_balancer.upstream_tls.ca_bundle`).
pub(super) fn load(
    templates: BTreeMap<String, TemplateFile>,
    defaults: &LoadBalancerSettings,
) -> Result<Vec<SeedTemplate>, ConfigError> {
    let mut seed = Vec::new();
    for (name, template) in templates {
        let key = format!("templates.{name}");
        let parsed = TemplateName::parse(&name).map_err(|e| ConfigError::new(&key, e))?;
        let mut upstream_auth = None;
        if let Some(update) = &template.load_balancer {
            let lb = format!("{key}.load_balancer");
            let settings = update
                .apply(defaults.clone())
                .map_err(|e| match e.field() {
                    Some(field) => ConfigError::new(format!("{lb}.{field}"), e),
                    None => ConfigError::new(&lb, e),
                })?;
            if let Some(tls) = settings.upstream_tls() {
                gateway_transport::check_upstream_tls(tls)
                    .map_err(|e| ConfigError::new(format!("{lb}.{}", e.field()), e.message()))?;
            }
            upstream_auth = Some(settings.upstream_auth().clone());
        }
        let mut instances = Vec::new();
        for (i, instance) in template.instances.into_iter().enumerate() {
            let valid = instance.validate(Some(&name)).map_err(|e| {
                ConfigError::new(format!("{key}.instances[{i}].{}", e.field), e.message)
            })?;
            if let Some(Err((field, reason))) = upstream_auth
                .as_ref()
                .map(|a| a.check_instance(&valid.spec))
            {
                return Err(ConfigError::new(
                    format!("{key}.instances[{i}].{field}"),
                    reason,
                ));
            }
            instances.push(valid);
        }
        seed.push(SeedTemplate {
            name: parsed,
            load_balancer: template.load_balancer,
            instances,
        });
    }
    Ok(seed)
}
