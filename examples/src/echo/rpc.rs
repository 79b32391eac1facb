//! Transport-independent JSON-RPC handling: parsing, era negotiation and dispatch.

use serde_json::{Map, Value, json};

use super::emit::Emitter;
use super::{
    EchoConfig, LATEST_LEGACY_PROTOCOL_VERSION, LEGACY_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSION,
    SERVER_NAME, SERVER_VERSION, SUPPORTED_PROTOCOL_VERSIONS, tools,
};

/// `_meta` key carrying the protocol revision of a modern request.
pub(crate) const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key carrying `serverInfo` on modern results.
pub(crate) const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Invalid JSON.
pub(crate) const PARSE_ERROR: i64 = -32700;
/// Valid JSON that is not a JSON-RPC message.
pub(crate) const INVALID_REQUEST: i64 = -32600;
/// Unknown method.
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
/// Bad params (including unknown tools).
pub(crate) const INVALID_PARAMS: i64 = -32602;
/// Transport-level rejection (missing session, bad headers).
pub(crate) const BAD_REQUEST: i64 = -32000;
/// Unknown or terminated legacy session.
pub(crate) const SESSION_NOT_FOUND: i64 = -32001;
/// Modern header / body mismatch.
pub(crate) const HEADER_MISMATCH: i64 = -32020;
/// Unsupported protocol revision (modern).
pub(crate) const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
    pub(crate) data: Option<Value>,
}

impl RpcError {
    /// An error without `data`.
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The -32022 error for an unsupported `requested` revision.
    fn unsupported_version(requested: &str) -> Self {
        Self {
            code: UNSUPPORTED_PROTOCOL_VERSION,
            message: format!("Unsupported protocol version: {requested}"),
            data: Some(json!({"supported": SUPPORTED_PROTOCOL_VERSIONS, "requested": requested})),
        }
    }
}

/// A request: it has an id and expects a response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    /// The id exactly as received (string or number).
    pub(crate) id: Value,
    pub(crate) method: String,
    pub(crate) params: Option<Value>,
}

/// One parsed incoming message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    Request(Request),
    /// Never answered.
    Notification {
        method: String,
        params: Option<Value>,
    },
    /// A response from the client (ignored).
    Response,
}

/// Parses one JSON-RPC message. On failure returns the id to answer with (null if unknown)
/// and the error.
pub(crate) fn parse(bytes: &[u8]) -> Result<Incoming, (Value, RpcError)> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        (
            Value::Null,
            RpcError::new(PARSE_ERROR, format!("Parse error: {e}")),
        )
    })?;
    let Value::Object(mut map) = value else {
        let what = if value.is_array() {
            "batches are not supported"
        } else {
            "not an object"
        };
        return Err((
            Value::Null,
            RpcError::new(INVALID_REQUEST, format!("Invalid Request: {what}")),
        ));
    };
    let id = map.remove("id");
    let params = map.remove("params");
    match (map.remove("method"), id) {
        (Some(Value::String(method)), None) => Ok(Incoming::Notification { method, params }),
        (Some(Value::String(method)), Some(id @ (Value::String(_) | Value::Number(_)))) => {
            Ok(Incoming::Request(Request { id, method, params }))
        }
        (Some(Value::String(_)), Some(_)) => Err((
            Value::Null,
            RpcError::new(
                INVALID_REQUEST,
                "Invalid Request: id must be a string or a number",
            ),
        )),
        (None, _) if map.contains_key("result") || map.contains_key("error") => {
            Ok(Incoming::Response)
        }
        (_, id) => Err((
            id.filter(|id| id.is_string() || id.is_number())
                .unwrap_or(Value::Null),
            RpcError::new(
                INVALID_REQUEST,
                "Invalid Request: missing or non-string method",
            ),
        )),
    }
}

/// Decides the era of a message from its `_meta` protocol version and, over HTTP, the
/// `MCP-Protocol-Version` header. Returns whether it is modern, or the error to answer.
pub(crate) fn negotiate(params: Option<&Value>, header: Option<&str>) -> Result<bool, RpcError> {
    let body = match params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(META_PROTOCOL_VERSION))
    {
        None => None,
        Some(Value::String(v)) => Some(v.as_str()),
        Some(_) => {
            return Err(RpcError::new(
                INVALID_PARAMS,
                format!("_meta {META_PROTOCOL_VERSION} must be a string"),
            ));
        }
    };
    for version in body.iter().chain(header.iter()) {
        if !SUPPORTED_PROTOCOL_VERSIONS.contains(version) {
            return Err(RpcError::unsupported_version(version));
        }
    }
    if let (Some(body), Some(header)) = (body, header)
        && body != header
    {
        return Err(RpcError::new(
            HEADER_MISMATCH,
            "mcp-protocol-version header does not match the request body's _meta protocol version",
        ));
    }
    Ok(body == Some(MODERN_PROTOCOL_VERSION) || header == Some(MODERN_PROTOCOL_VERSION))
}

/// A success response.
pub(crate) fn response_ok(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error response.
pub(crate) fn response_err(id: Value, error: RpcError) -> Value {
    let mut err = Map::with_capacity(3);
    err.insert("code".to_owned(), error.code.into());
    err.insert("message".to_owned(), error.message.into());
    if let Some(data) = error.data {
        err.insert("data".to_owned(), data);
    }
    json!({"jsonrpc": "2.0", "id": id, "error": err})
}

/// The error code of a response built by this module, if it is an error.
pub(crate) fn error_code(response: &Value) -> Option<i64> {
    response.get("error")?.get("code")?.as_i64()
}

/// Handles one request (era already negotiated) and returns its response. Progress
/// notifications, if any, go to `progress` before this returns.
pub(crate) async fn handle_request(
    request: Request,
    modern: bool,
    config: &EchoConfig,
    progress: Option<&Emitter>,
) -> Value {
    let Request { id, method, params } = request;
    match dispatch(&method, params, config, progress).await {
        Ok(mut result) => {
            if modern {
                decorate_modern(&mut result);
            }
            response_ok(id, result)
        }
        Err(e) => response_err(id, e),
    }
}

/// Negotiates the era from the body alone (stdio) and handles the request.
pub(crate) async fn handle_request_body_era(
    request: Request,
    config: &EchoConfig,
    progress: Option<&Emitter>,
) -> Value {
    match negotiate(request.params.as_ref(), None) {
        Ok(modern) => handle_request(request, modern, config, progress).await,
        Err(e) => response_err(request.id, e),
    }
}

async fn dispatch(
    method: &str,
    params: Option<Value>,
    config: &EchoConfig,
    progress: Option<&Emitter>,
) -> Result<Value, RpcError> {
    let params = match params {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(RpcError::new(INVALID_PARAMS, "params must be an object")),
    };
    match method {
        "initialize" => Ok(initialize(&params)),
        "ping" => Ok(json!({})),
        "server/discover" => Ok(json!({
            "supportedVersions": SUPPORTED_PROTOCOL_VERSIONS,
            "capabilities": capabilities(),
            "serverInfo": server_info(),
            "resultType": "complete",
        })),
        "tools/list" => Ok(tools::list()),
        "tools/call" => tools::call(&params, config, progress).await,
        _ => Err(RpcError::new(
            METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )),
    }
}

fn initialize(params: &Map<String, Value>) -> Value {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    let version = requested
        .filter(|v| LEGACY_PROTOCOL_VERSIONS.contains(v))
        .unwrap_or(LATEST_LEGACY_PROTOCOL_VERSION);
    json!({
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": server_info(),
    })
}

fn capabilities() -> Value {
    json!({"tools": {"listChanged": false}})
}

fn server_info() -> Value {
    json!({"name": SERVER_NAME, "version": SERVER_VERSION})
}

/// Adds `resultType` and `_meta` serverInfo to a modern result.
fn decorate_modern(result: &mut Value) {
    let Value::Object(map) = result else { return };
    map.insert("resultType".to_owned(), Value::from("complete"));
    let meta = map
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert(META_SERVER_INFO.to_owned(), server_info());
    }
}
