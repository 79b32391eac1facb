//! Active probes: an MCP-level request that proves the instance answers.

use std::time::{Duration, Instant};

use gateway_core::{
    jsonrpc::{Request, RequestId},
    mcp::Era,
};
use gateway_transport::{CallOptions, Upstream};

/// What a probe sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProbeKind {
    /// `ping` (session-era upstreams); `server/discover` for 2026-07-28 upstreams,
    /// which have no ping.
    #[default]
    Ping,
    /// `tools/list`: also proves the server can serve its catalogue.
    ToolsList,
}

impl std::str::FromStr for ProbeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ping" => Ok(ProbeKind::Ping),
            "tools_list" | "tools/list" => Ok(ProbeKind::ToolsList),
            other => Err(format!(
                "unknown probe {other:?}: expected ping or tools_list"
            )),
        }
    }
}

/// Probes `upstream` once; `Ok(latency)` when it answered in time (any JSON-RPC answer
/// counts: the server is alive), else the reason.
pub async fn probe(
    upstream: &Upstream,
    kind: ProbeKind,
    timeout: Duration,
) -> Result<Duration, String> {
    let method = match (kind, upstream.info().map(|i| i.era())) {
        (ProbeKind::ToolsList, _) => "tools/list",
        (ProbeKind::Ping, Some(Era::Modern)) => "server/discover",
        (ProbeKind::Ping, _) => "ping",
    };
    let started = Instant::now();
    let request = Request::new(RequestId::Number(0), method, None);
    let options = CallOptions {
        timeout: Some(timeout),
        ..CallOptions::default()
    };
    match tokio::time::timeout(timeout, upstream.call(request, options)).await {
        Ok(Ok(_)) => Ok(started.elapsed()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}
