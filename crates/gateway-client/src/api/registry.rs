//! `/gateway/*`: gateway health and statistics, the registry, registration and
//! per-template load-balancer settings.

use gateway_core::api::{InstanceInfo, LoadBalancerConfig, LoadBalancerUpdate, RegisterInstance};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::{Error, GatewayClient, Result};

#[derive(Deserialize)]
struct TemplateNames {
    templates: Vec<String>,
}

impl GatewayClient {
    /// Gateway health: `{"status": "healthy"|"degraded"|"unhealthy", "database", ...}`.
    ///
    /// The gateway answers 503 when its database is unreachable; that answer is still a
    /// health report, so it is returned as `Ok` with `"status": "unhealthy"`. `Err`
    /// means the gateway could not be asked.
    pub async fn health(&self) -> Result<Value> {
        let reply = self
            .send(Method::GET, &["gateway", "health"], None::<&()>, &[503])
            .await?;
        match serde_json::from_slice::<Value>(&reply.body) {
            Ok(report) if reply.status.is_success() || report.get("status").is_some() => Ok(report),
            Err(e) if reply.status.is_success() => Err(Error::decode(e)),
            // A 503 that is not a health report (e.g. an error page from a proxy in front).
            _ => Err(Error::from_response(
                reply.status,
                &reply.headers,
                &reply.body,
            )),
        }
    }

    /// Request counters, latencies and load distribution (`/gateway/stats`).
    pub async fn stats(&self) -> Result<Value> {
        self.get(&["gateway", "stats"]).await
    }

    /// Everything registered: totals, and per template its load-balancer settings and
    /// instances (`/gateway/registry`).
    pub async fn registry(&self) -> Result<Value> {
        self.get(&["gateway", "registry"]).await
    }

    /// The names of all templates.
    pub async fn templates(&self) -> Result<Vec<String>> {
        let names: TemplateNames = self.get(&["gateway", "templates"]).await?;
        Ok(names.templates)
    }

    /// Registers an instance; returns it as the gateway stored it (secrets redacted).
    ///
    /// Fails with [`Error::is_conflict`] if the id is taken, and with a 400 naming
    /// [`Error::field`] if the registration is invalid.
    pub async fn register(&self, registration: &RegisterInstance) -> Result<InstanceInfo> {
        self.post(&["gateway", "register"], registration).await
    }

    /// Removes instance `instance_id` from `template`; returns the gateway's confirmation
    /// (`{"message", "template_name", "instance_id"}`). Fails with
    /// [`Error::is_not_found`] if there is no such instance.
    pub async fn deregister(&self, template: &str, instance_id: &str) -> Result<Value> {
        self.delete(&["gateway", "deregister", template, instance_id])
            .await
    }

    /// The load-balancer settings of `template`.
    pub async fn load_balancer(&self, template: &str) -> Result<LoadBalancerConfig> {
        self.get(&["gateway", "templates", template, "load-balancer"])
            .await
    }

    /// Changes the load-balancer settings of `template` (absent fields keep their value)
    /// and returns the new settings.
    pub async fn set_load_balancer(
        &self,
        template: &str,
        update: &LoadBalancerUpdate,
    ) -> Result<LoadBalancerConfig> {
        self.put(&["gateway", "templates", template, "load-balancer"], update)
            .await
    }
}
