//! Active probes: an MCP-level request (or an HTTP GET) that proves the instance answers.

use std::time::{Duration, Instant};

use gateway_core::{
    HealthProbe, Transport,
    jsonrpc::{Request, RequestId},
    mcp::Era,
};
use gateway_transport::{CallOptions, Upstream};

/// Probes `upstream` once; `Ok(latency)` when it answered in time (any JSON-RPC answer
/// counts: the server is alive; an HTTP probe needs a 2xx), else the reason.
pub async fn probe(
    upstream: &Upstream,
    kind: &HealthProbe,
    timeout: Duration,
) -> Result<Duration, String> {
    let started = Instant::now();
    if let HealthProbe::HttpGet(path) = kind
        && upstream.transport() != Transport::Stdio
    {
        return match upstream.http_get(path, timeout).await {
            Ok(status) if (200..300).contains(&status) => Ok(started.elapsed()),
            Ok(status) => Err(format!("GET {path} answered {status}")),
            Err(e) => Err(e.report().to_string()),
        };
    }
    let method = match (kind, upstream.info().map(|i| i.era())) {
        (HealthProbe::ToolsList, _) => "tools/list",
        // 2026-07-28 upstreams have no ping; an HTTP path on a stdio instance means ping.
        (_, Some(Era::Modern)) => "server/discover",
        _ => "ping",
    };
    let request = Request::new(RequestId::Number(0), method, None);
    let options = CallOptions {
        timeout: Some(timeout),
        ..CallOptions::default()
    };
    match tokio::time::timeout(timeout, upstream.call(request, options)).await {
        Ok(Ok(_)) => Ok(started.elapsed()),
        Ok(Err(e)) => Err(e.report().to_string()),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}
