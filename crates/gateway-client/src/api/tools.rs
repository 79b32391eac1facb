//! `/mcp/{template}/tools/*`.

use serde::Deserialize;
use serde_json::Value;

use super::NamedCall;
use crate::{GatewayClient, Result};

#[derive(Deserialize)]
struct ToolList {
    tools: Vec<Value>,
}

impl GatewayClient {
    /// The tools of `template` (MCP `Tool` objects, as the upstream sent them).
    pub async fn list_tools(&self, template: &str) -> Result<Vec<Value>> {
        let list: ToolList = self.get(&["mcp", template, "tools", "list"]).await?;
        Ok(list.tools)
    }

    /// Calls tool `name` of `template` with `arguments` (a JSON object, or `Value::Null`
    /// for none) and returns the upstream's `CallToolResult` verbatim.
    ///
    /// A tool that fails still returns `Ok`, with `"isError": true` in the result; `Err`
    /// means the gateway could not carry out the call.
    pub async fn call_tool(&self, template: &str, name: &str, arguments: Value) -> Result<Value> {
        let body = NamedCall {
            name,
            arguments: &arguments,
        };
        self.post(&["mcp", template, "tools", "call"], &body).await
    }
}
