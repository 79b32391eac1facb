//! Tool definitions (`tools/list`) and execution (`tools/call`).

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::EchoConfig;
use super::emit::Emitter;
use super::rpc::{INVALID_PARAMS, RpcError};

/// The `tools/list` result.
pub(crate) fn list() -> Value {
    static TOOLS: OnceLock<Value> = OnceLock::new();
    TOOLS.get_or_init(definitions).clone()
}

fn definitions() -> Value {
    let none = || json!({"type": "object", "properties": {}, "required": []});
    json!({"tools": [
        {
            "name": "echo",
            "description": "Returns the given message as text.",
            "inputSchema": {
                "type": "object",
                "properties": {"message": {"type": "string", "description": "Text to echo back"}},
                "required": ["message"],
            },
        },
        {
            "name": "add",
            "description": "Adds two integers.",
            "inputSchema": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
            "outputSchema": {
                "type": "object",
                "properties": {"result": {"type": "integer"}},
                "required": ["result"],
            },
        },
        {
            "name": "sleep_ms",
            "description": "Sleeps for the given number of milliseconds (reports progress if asked).",
            "inputSchema": {
                "type": "object",
                "properties": {"ms": {"type": "integer", "minimum": 0}},
                "required": ["ms"],
            },
        },
        {
            "name": "fail",
            "description": "Returns a tool error (isError: true).",
            "inputSchema": {
                "type": "object",
                "properties": {"message": {"type": "string"}},
                "required": [],
            },
        },
        {
            "name": "crash",
            "description": "Terminates the server process immediately (exit code 3).",
            "inputSchema": none(),
        },
        {
            "name": "whoami",
            "description": "Returns this server instance's id (and its process id, to tell processes apart).",
            "inputSchema": none(),
            "outputSchema": {
                "type": "object",
                "properties": {"instance_id": {"type": "string"}, "pid": {"type": "integer"}},
                "required": ["instance_id", "pid"],
            },
        },
    ]})
}

/// Runs a `tools/call`. Unknown tools are a JSON-RPC error; bad arguments are a tool result
/// with `isError: true`.
pub(crate) async fn call(
    params: &Map<String, Value>,
    config: &EchoConfig,
    progress: Option<&Emitter>,
) -> Result<Value, RpcError> {
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return Err(RpcError::new(
            INVALID_PARAMS,
            "tools/call requires a string 'name'",
        ));
    };
    let empty = Map::new();
    let args = match params.get("arguments") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(args)) => args,
        Some(_) => return Ok(tool_error("arguments must be an object".to_owned())),
    };
    let result = match name {
        "echo" => string_arg(args, "message").map(text),
        "add" => add(args),
        "sleep_ms" => match u64_arg(args, "ms") {
            Ok(ms) => {
                let token = params.get("_meta").and_then(|m| m.get("progressToken"));
                Ok(sleep(ms, progress.zip(token)).await)
            }
            Err(e) => Err(e),
        },
        "fail" => match args.get("message") {
            None | Some(Value::Null) => Err("requested failure".to_owned()),
            Some(Value::String(message)) => Err(message.clone()),
            Some(_) => Err("argument 'message' must be a string".to_owned()),
        },
        "crash" => std::process::exit(3),
        // Unlisted test hook: what `_meta` the server received.
        "meta" => {
            let meta = params.get("_meta").cloned().unwrap_or_else(|| json!({}));
            let mut result = text(meta.to_string());
            result["structuredContent"] = meta;
            Ok(result)
        }
        "whoami" => {
            let mut result = text(config.instance_id.clone());
            result["structuredContent"] =
                json!({"instance_id": config.instance_id, "pid": std::process::id()});
            Ok(result)
        }
        _ => {
            return Err(RpcError::new(
                INVALID_PARAMS,
                format!("unknown tool: {name}"),
            ));
        }
    };
    Ok(result.unwrap_or_else(tool_error))
}

fn add(args: &Map<String, Value>) -> Result<Value, String> {
    let a = i64_arg(args, "a")?;
    let b = i64_arg(args, "b")?;
    let sum = a
        .checked_add(b)
        .ok_or_else(|| format!("{a} + {b} overflows a 64-bit integer"))?;
    let mut result = text(sum.to_string());
    result["structuredContent"] = json!({"result": sum});
    Ok(result)
}

async fn sleep(ms: u64, progress: Option<(&Emitter, &Value)>) -> Value {
    let notify = |step: u64| {
        if let Some((emitter, token)) = progress {
            emitter.emit(&json!({
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": {"progressToken": token, "progress": step, "total": 2},
            }));
        }
    };
    notify(1);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    notify(2);
    text(format!("slept {ms}ms"))
}

/// A successful result with one text content item.
fn text(text: String) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

/// A tool-level error result (not a JSON-RPC error).
fn tool_error(message: String) -> Value {
    json!({"content": [{"type": "text", "text": message}], "isError": true})
}

fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    args.get(name)
        .ok_or_else(|| format!("missing required argument '{name}'"))
}

fn string_arg(args: &Map<String, Value>, name: &str) -> Result<String, String> {
    match arg(args, name)? {
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("argument '{name}' must be a string")),
    }
}

fn i64_arg(args: &Map<String, Value>, name: &str) -> Result<i64, String> {
    arg(args, name)?
        .as_i64()
        .ok_or_else(|| format!("argument '{name}' must be an integer"))
}

fn u64_arg(args: &Map<String, Value>, name: &str) -> Result<u64, String> {
    arg(args, name)?
        .as_u64()
        .ok_or_else(|| format!("argument '{name}' must be a non-negative integer"))
}
