//! `/mcp/{template}/health`.

use serde_json::Value;

use crate::{GatewayClient, Result};

impl GatewayClient {
    /// Probes every instance of `template` now and returns the guide's health document:
    /// `{"template_name", "total_instances", "healthy_instances", "health_percentage",
    /// "instances": {id: {"healthy", "status"}}}`.
    pub async fn template_health(&self, template: &str) -> Result<Value> {
        self.get(&["mcp", template, "health"]).await
    }
}
