//! What the gateway says about itself: the `initialize` result (legacy) and the
//! `server/discover` result (2026-07-28). `/mcp/{template}` presents the upstream's own
//! capabilities, `serverInfo` and instructions; `/mcp` presents the gateway.

use std::time::Duration;

use gateway_core::{
    jsonrpc::to_raw,
    mcp::{ProtocolVersion, wire::META_SERVER_INFO},
};
use serde_json::{Value, json};

use super::{dedicated::Dedicated, scope::Scope};
use crate::relay::Relay;

/// How long `initialize` waits for a starting upstream to report its capabilities.
const DESCRIBE_WAIT: Duration = Duration::from_secs(5);

struct Description {
    capabilities: Value,
    server_info: Value,
    instructions: Option<String>,
}

fn gateway_description() -> Description {
    Description {
        capabilities: json!({
            "tools": {"listChanged": true},
            "prompts": {"listChanged": true},
            "resources": {"listChanged": true, "subscribe": true},
            "completions": {},
            "logging": {},
        }),
        server_info: json!({"name": "mcp-gateway", "version": env!("CARGO_PKG_VERSION")}),
        instructions: None,
    }
}

/// Who answers for an endpoint: the routes of `relay`, narrowed by the request's scope
/// and, in a dedicated session, its own upstream.
#[derive(Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub(crate) relay: &'a Relay,
    pub(crate) scope: &'a Scope,
    pub(crate) dedicated: Option<&'a Dedicated>,
}

async fn describe(subject: Subject<'_>) -> Description {
    let Scope::Template(template) = subject.scope else {
        return gateway_description();
    };
    if let Some(info) = subject.dedicated.and_then(|d| d.upstream().info()) {
        return from_info(template, &info);
    }
    let table = subject.relay.routes();
    let Some(route) = table.get(template) else {
        return gateway_description();
    };
    // A healthy instance first; otherwise any that answers its handshake in time.
    let mut candidates: Vec<_> = route.instances.iter().collect();
    candidates.sort_by_key(|h| !h.is_healthy());
    for handle in candidates {
        let info = match handle.upstream.info() {
            Some(info) => Some(info),
            None => tokio::time::timeout(DESCRIBE_WAIT, handle.upstream.ready())
                .await
                .ok()
                .and_then(Result::ok),
        };
        if let Some(info) = info {
            return from_info(template, &info);
        }
    }
    let mut fallback = gateway_description();
    fallback.server_info = json!({"name": &**template, "version": "unknown"});
    fallback
}

fn from_info(template: &str, info: &gateway_transport::ServerInfo) -> Description {
    let parse = |raw: &serde_json::value::RawValue| {
        serde_json::from_str::<Value>(raw.get()).unwrap_or_default()
    };
    Description {
        capabilities: parse(&info.capabilities),
        server_info: info
            .server_info
            .as_deref()
            .map_or_else(|| json!({"name": template, "version": "unknown"}), parse),
        instructions: info.instructions.clone(),
    }
}

/// The version to answer a legacy `initialize` with: the client's, when it is a legacy
/// revision we know, else the latest legacy one.
pub(crate) fn negotiate(requested: Option<&str>) -> ProtocolVersion {
    requested
        .and_then(ProtocolVersion::parse)
        .filter(|v| v.era() == gateway_core::mcp::Era::Legacy)
        .unwrap_or(ProtocolVersion::LATEST_LEGACY)
}

/// The `initialize` result for a negotiated `version`.
pub(crate) async fn initialize_result(
    subject: Subject<'_>,
    version: ProtocolVersion,
) -> Box<serde_json::value::RawValue> {
    let d = describe(subject).await;
    let mut result = json!({
        "protocolVersion": version.as_str(),
        "capabilities": d.capabilities,
        "serverInfo": d.server_info,
    });
    if let Some(instructions) = d.instructions {
        result["instructions"] = Value::String(instructions);
    }
    to_raw(&result)
}

/// The `server/discover` result.
pub(crate) async fn discover_result(subject: Subject<'_>) -> Box<serde_json::value::RawValue> {
    let d = describe(subject).await;
    let mut result = json!({
        "supportedVersions": [ProtocolVersion::LATEST.as_str()],
        "capabilities": d.capabilities,
        "resultType": "complete",
        "ttlMs": 0,
        "cacheScope": "private",
        "_meta": { META_SERVER_INFO: d.server_info },
    });
    if let Some(instructions) = d.instructions {
        result["instructions"] = Value::String(instructions);
    }
    to_raw(&result)
}
