//! `gateway-bench serial-stdio`: an MCP server on stdin/stdout that answers one request at
//! a time, like most single-threaded stdio servers.
//!
//! The echo fixture runs every request on its own task, so one echo process already serves
//! many `sleep_ms` calls at once and a pool of processes adds nothing measurable. This
//! fixture blocks on each request, so the throughput of a pool of N processes on a 5 ms
//! tool is what the pool itself provides. Legacy era only: `server/discover` is answered
//! with -32601, so a dual-era client falls back to `initialize`.

use std::io::{BufRead as _, Write as _};
use std::time::Duration;

use serde_json::{Value, json};

/// Longest `sleep_ms` honoured, so a bad argument cannot wedge a benchmark.
const MAX_SLEEP_MS: u64 = 10_000;

/// Serves until stdin reaches EOF.
pub(crate) fn run() -> anyhow::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(reply) = handle(&line) {
            serde_json::to_writer(&mut stdout, &reply)?;
            stdout.write_all(b"\n")?;
            stdout.flush()?;
        }
    }
    Ok(())
}

/// The response to one message (`None` for notifications and responses).
fn handle(line: &str) -> Option<Value> {
    let Ok(message) = serde_json::from_str::<Value>(line) else {
        return Some(error(Value::Null, -32700, "Parse error"));
    };
    let id = message.get("id").cloned()?;
    let method = message.get("method").and_then(Value::as_str)?;
    let params = message.get("params");
    let outcome = match method {
        "initialize" => {
            let version = params
                .and_then(|p| p.get("protocolVersion"))
                .and_then(Value::as_str)
                .unwrap_or("2025-11-25");
            Ok(json!({
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "serial-stdio", "version": env!("CARGO_PKG_VERSION")},
            }))
        }
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({"tools": [
            {"name": "sleep_ms", "description": "Blocks for ms milliseconds",
             "inputSchema": {"type": "object", "properties": {"ms": {"type": "integer"}}, "required": ["ms"]}},
            {"name": "echo", "description": "Returns the message",
             "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}},
        ]})),
        "tools/call" => call_tool(params),
        _ => Err((-32601, format!("Method not found: {method}"))),
    };
    Some(match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err((code, message)) => error(id, code, &message),
    })
}

fn call_tool(params: Option<&Value>) -> Result<Value, (i64, String)> {
    let name = params.and_then(|p| p.get("name")).and_then(Value::as_str);
    let arguments = params.and_then(|p| p.get("arguments"));
    let text = match name {
        Some("sleep_ms") => {
            let ms = arguments
                .and_then(|a| a.get("ms"))
                .and_then(Value::as_u64)
                .ok_or((-32602, "sleep_ms needs an integer ms".to_owned()))?
                .min(MAX_SLEEP_MS);
            // Blocking on purpose: this server does one thing at a time.
            std::thread::sleep(Duration::from_millis(ms));
            format!("slept {ms}ms")
        }
        Some("echo") => arguments
            .and_then(|a| a.get("message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        other => return Err((-32602, format!("Unknown tool: {}", other.unwrap_or("")))),
    };
    Ok(json!({"content": [{"type": "text", "text": text}], "isError": false}))
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_requests_and_ignores_notifications() {
        let init = handle(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#).unwrap();
        assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
        assert!(handle(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).is_none());
        let discover = handle(r#"{"jsonrpc":"2.0","id":"d","method":"server/discover"}"#).unwrap();
        assert_eq!(discover["error"]["code"], -32601);
        assert_eq!(discover["id"], "d");
        let call = handle(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sleep_ms","arguments":{"ms":1}}}"#).unwrap();
        assert_eq!(call["result"]["content"][0]["text"], "slept 1ms");
        let echo = handle(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}"#).unwrap();
        assert_eq!(echo["result"]["content"][0]["text"], "hi");
        let bad =
            handle(r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"nope"}}"#)
                .unwrap();
        assert_eq!(bad["error"]["code"], -32602);
        assert_eq!(handle("not json").unwrap()["error"]["code"], -32700);
    }
}
