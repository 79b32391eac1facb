//! `/mcp/{template}/resources/*`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{GatewayClient, Result};

#[derive(Deserialize)]
struct ResourceList {
    resources: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceTemplateList {
    resource_templates: Vec<Value>,
}

#[derive(Serialize)]
struct ReadResource<'a> {
    uri: &'a str,
}

impl GatewayClient {
    /// The resources of `template` (MCP `Resource` objects).
    pub async fn list_resources(&self, template: &str) -> Result<Vec<Value>> {
        let list: ResourceList = self.get(&["mcp", template, "resources", "list"]).await?;
        Ok(list.resources)
    }

    /// Reads resource `uri` of `template`; returns the upstream's `ReadResourceResult`
    /// (`{"contents": [...]}`) verbatim.
    pub async fn read_resource(&self, template: &str, uri: &str) -> Result<Value> {
        self.post(
            &["mcp", template, "resources", "read"],
            &ReadResource { uri },
        )
        .await
    }

    /// The resource templates of `template` (MCP `ResourceTemplate` objects).
    pub async fn list_resource_templates(&self, template: &str) -> Result<Vec<Value>> {
        let list: ResourceTemplateList = self
            .get(&["mcp", template, "resources", "templates", "list"])
            .await?;
        Ok(list.resource_templates)
    }
}
