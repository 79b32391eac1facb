//! Judging a response: status, then (for MCP) the JSON-RPC envelope, JSON or SSE.

use hyper::StatusCode;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

/// What a successful response looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Any 2xx.
    Success,
    /// 200 with a `CallToolResult` whose `isError` is not true.
    RestCall,
    /// 200 with a JSON-RPC result (and, for `tools/call`, `isError` not true).
    Rpc {
        /// Check `result.isError`.
        tool_call: bool,
    },
    /// A JSON-RPC result and an `Mcp-Session-Id` header.
    Initialize,
}

#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ToolResult {
    #[serde(rename = "isError", default)]
    is_error: Option<bool>,
}

/// Checks one response; the error is a short kind (`status_503`, `rpc_error`, ...).
pub(crate) fn check(
    expect: Expect,
    status: StatusCode,
    content_type: Option<&str>,
    has_session_id: bool,
    body: &[u8],
) -> Result<(), String> {
    if !status.is_success() {
        return Err(format!("status_{}", status.as_u16()));
    }
    match expect {
        Expect::Success => Ok(()),
        Expect::RestCall => tool_result(body),
        Expect::Rpc { tool_call } => {
            let result = rpc_result(content_type, body)?;
            if tool_call {
                tool_result(result.as_bytes())
            } else {
                Ok(())
            }
        }
        Expect::Initialize => {
            rpc_result(content_type, body)?;
            if has_session_id {
                Ok(())
            } else {
                Err("no_session_id".to_owned())
            }
        }
    }
}

fn tool_result(body: &[u8]) -> Result<(), String> {
    match serde_json::from_slice::<ToolResult>(body) {
        Ok(ToolResult {
            is_error: Some(true),
        }) => Err("tool_error".to_owned()),
        Ok(_) => Ok(()),
        Err(_) => Err("bad_body".to_owned()),
    }
}

/// The raw `result` of a JSON-RPC response sent as JSON or as an SSE stream.
pub(crate) fn rpc_result(content_type: Option<&str>, body: &[u8]) -> Result<String, String> {
    let is_sse = content_type.is_some_and(|t| t.starts_with("text/event-stream"));
    let payload;
    let json = if is_sse {
        payload = last_sse_data(body).ok_or_else(|| "bad_body".to_owned())?;
        payload.as_slice()
    } else {
        body
    };
    let reply: Reply<'_> = serde_json::from_slice(json).map_err(|_| "bad_body".to_owned())?;
    match (reply.result, reply.error) {
        (_, Some(_)) => Err("rpc_error".to_owned()),
        (Some(result), None) => Ok(result.get().to_owned()),
        (None, None) => Err("bad_body".to_owned()),
    }
}

/// The data of the last non-empty SSE event (the final response of a request stream).
fn last_sse_data(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut last = None;
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if current.iter().any(|d| !d.is_empty()) {
                last = Some(current.join("\n").into_bytes());
            }
            current.clear();
        } else if let Some(data) = line.strip_prefix("data:") {
            current.push(data.strip_prefix(' ').unwrap_or(data));
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: StatusCode = StatusCode::OK;

    #[test]
    fn rest_and_status() {
        let ok = br#"{"content":[{"type":"text","text":"hi"}],"isError":false}"#;
        assert!(check(Expect::RestCall, OK, None, false, ok).is_ok());
        let tool_error = br#"{"content":[],"isError":true}"#;
        assert_eq!(
            check(Expect::RestCall, OK, None, false, tool_error).unwrap_err(),
            "tool_error"
        );
        let unavailable = StatusCode::SERVICE_UNAVAILABLE;
        assert_eq!(
            check(Expect::Success, unavailable, None, false, b"").unwrap_err(),
            "status_503"
        );
    }

    #[test]
    fn rpc_json_and_sse() {
        let expect = Expect::Rpc { tool_call: true };
        let json = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":false}}"#;
        assert!(check(expect, OK, Some("application/json"), false, json).is_ok());
        let error = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x"}}"#;
        assert_eq!(
            check(expect, OK, None, false, error).unwrap_err(),
            "rpc_error"
        );
        let sse = b"id: a\ndata: \n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"isError\":true}}\n\n";
        assert_eq!(
            check(expect, OK, Some("text/event-stream"), false, sse).unwrap_err(),
            "tool_error"
        );
        let init = br#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25"}}"#;
        assert!(check(Expect::Initialize, OK, None, true, init).is_ok());
        assert_eq!(
            check(Expect::Initialize, OK, None, false, init).unwrap_err(),
            "no_session_id"
        );
    }
}
