//! `/mcp/{template}/prompts/*`.

use serde::Deserialize;
use serde_json::Value;

use super::NamedCall;
use crate::{GatewayClient, Result};

#[derive(Deserialize)]
struct PromptList {
    prompts: Vec<Value>,
}

impl GatewayClient {
    /// The prompts of `template` (MCP `Prompt` objects).
    pub async fn list_prompts(&self, template: &str) -> Result<Vec<Value>> {
        let list: PromptList = self.get(&["mcp", template, "prompts", "list"]).await?;
        Ok(list.prompts)
    }

    /// Gets prompt `name` of `template` with `arguments` (a JSON object of strings, or
    /// `Value::Null`); returns the upstream's `GetPromptResult` verbatim.
    pub async fn get_prompt(&self, template: &str, name: &str, arguments: Value) -> Result<Value> {
        let body = NamedCall {
            name,
            arguments: &arguments,
        };
        self.post(&["mcp", template, "prompts", "get"], &body).await
    }
}
