//! A minimal stdio MCP server (protocol 2025-11-25) whose every list is paginated, so the
//! tests can prove that the gateway drains all pages: `tools/list` has 7 tools in pages
//! of 3, `resources/list` 5 resources in pages of 2, `resources/templates/list` 3 in
//! pages of 2 and `prompts/list` 3 prompts in pages of 1. Cursors are `"<method>:<offset>"`.
//! `resources/read`, `prompts/get`, `tools/call` (tool `t<N>` answers `"t<N>"`) and
//! `ping` answer; anything else is "method not found".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, Write};

use serde_json::{Value, json};

const PAGE_TOOLS: usize = 3;
const PAGE_RESOURCES: usize = 2;
const PAGE_TEMPLATES: usize = 2;
const PAGE_PROMPTS: usize = 1;

fn page(method: &str, params: &Value, key: &str, items: Vec<Value>, size: usize) -> Value {
    let offset = params["cursor"]
        .as_str()
        .and_then(|c| c.strip_prefix(&format!("{method}:")))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let end = (offset + size).min(items.len());
    let mut result = json!({ key: items[offset.min(end)..end] });
    if end < items.len() {
        result["nextCursor"] = json!(format!("{method}:{end}"));
    }
    result
}

fn handle(method: &str, params: &Value) -> Result<Value, (i64, String)> {
    Ok(match method {
        "initialize" => json!({
            "protocolVersion": params["protocolVersion"],
            "capabilities": {"tools": {}, "resources": {}, "prompts": {}},
            "serverInfo": {"name": "paged-fixture", "version": "0.1.0"},
        }),
        "ping" => json!({}),
        "tools/list" => {
            let tools = (1..=7)
                .map(|i| json!({"name": format!("t{i}"), "inputSchema": {"type": "object"}}))
                .collect();
            page(method, params, "tools", tools, PAGE_TOOLS)
        }
        "tools/call" => {
            let name = params["name"].as_str().unwrap_or_default();
            json!({"content": [{"type": "text", "text": name}], "isError": false})
        }
        "resources/list" => {
            let resources = (1..=5)
                .map(|i| json!({"uri": format!("paged://r/{i}"), "name": format!("r{i}")}))
                .collect();
            page(method, params, "resources", resources, PAGE_RESOURCES)
        }
        "resources/templates/list" => {
            let templates = (1..=3)
                .map(|i| json!({"uriTemplate": format!("paged://t{i}/{{x}}"), "name": format!("t{i}")}))
                .collect();
            page(
                method,
                params,
                "resourceTemplates",
                templates,
                PAGE_TEMPLATES,
            )
        }
        "resources/read" => {
            let uri = params["uri"].as_str().unwrap_or_default();
            if !uri.starts_with("paged://r/") {
                return Err((-32002, format!("resource not found: {uri}")));
            }
            json!({"contents": [{"uri": uri, "mimeType": "text/plain", "text": format!("content of {uri}")}]})
        }
        "prompts/list" => {
            let prompts = (1..=3).map(|i| json!({"name": format!("p{i}")})).collect();
            page(method, params, "prompts", prompts, PAGE_PROMPTS)
        }
        "prompts/get" => {
            let name = params["name"].as_str().unwrap_or_default();
            json!({"messages": [{"role": "user", "content": {"type": "text", "text": format!("prompt {name}")}}]})
        }
        other => return Err((-32601, format!("method not found: {other}"))),
    })
}

fn main() {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let (Some(id), Some(method)) = (message.get("id"), message["method"].as_str()) else {
            continue; // notifications and responses
        };
        let reply = match handle(method, &message["params"]) {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, msg)) => {
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": msg}})
            }
        };
        writeln!(stdout, "{reply}").unwrap();
        stdout.flush().unwrap();
    }
}
