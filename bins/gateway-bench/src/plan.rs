//! [`Plan`]: what every request of a run looks like, built once from the arguments.

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use serde_json::{Value, json};

use crate::args::{LoadArgs, Mode};
use crate::check::Expect;
use crate::target;

/// The legacy revision the MCP modes ask for in `initialize`.
pub(crate) const LEGACY_VERSION: &str = "2025-11-25";
/// The stateless revision of the `mcp-modern` mode.
pub(crate) const MODERN_VERSION: &str = "2026-07-28";

const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// A legacy MCP session held by one worker.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// `Mcp-Session-Id`, when the server issued one.
    pub(crate) id: Option<HeaderValue>,
    /// The negotiated revision, sent as `MCP-Protocol-Version`.
    pub(crate) version: HeaderValue,
}

/// How request bodies are made.
#[derive(Debug, Clone)]
enum Body {
    /// No body (`GET`).
    Empty,
    /// The same bytes every time.
    Fixed(Bytes),
    /// A JSON-RPC request: `prefix` + id + `suffix`, so every request has its own id.
    Rpc { prefix: String, suffix: String },
    /// A `/gateway/register` body for request number `seq`.
    Register {
        prefix: String,
        per_template: u64,
        endpoint: String,
    },
}

/// Everything needed to build and judge one request of a run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    mode: Mode,
    uri: Uri,
    method: Method,
    headers: HeaderMap,
    body: Body,
    expect: Expect,
}

impl Plan {
    /// Validates the arguments into a plan.
    pub(crate) fn new(args: &LoadArgs) -> anyhow::Result<Self> {
        let uri = target::parse_loopback(&args.url)?;
        let mut headers = HeaderMap::new();
        for raw in &args.headers {
            let (name, value) = raw
                .split_once(':')
                .with_context(|| format!("--header {raw:?}: expected `Name: value`"))?;
            let name: HeaderName = name.trim().parse().context("--header: invalid name")?;
            let value: HeaderValue = value.trim().parse().context("--header: invalid value")?;
            headers.append(name, value);
        }
        let arguments: Value = serde_json::from_str(&args.arguments)
            .ok()
            .filter(Value::is_object)
            .context("--arguments must be a JSON object")?;
        let json_type = HeaderValue::from_static("application/json");
        let (method, body, expect) = match args.mode {
            Mode::RestCall => {
                headers.insert(header::CONTENT_TYPE, json_type.clone());
                headers.insert(header::ACCEPT, json_type);
                let body = json!({"name": args.tool, "arguments": arguments});
                (
                    Method::POST,
                    Body::Fixed(body.to_string().into()),
                    Expect::RestCall,
                )
            }
            Mode::RestList => {
                headers.insert(header::ACCEPT, json_type);
                (Method::GET, Body::Empty, Expect::Success)
            }
            Mode::McpLegacy | Mode::McpModern => {
                mcp_headers(&mut headers);
                let modern = args.mode == Mode::McpModern;
                let (prefix, suffix) =
                    rpc_template(&args.mcp_method, &args.tool, &arguments, modern)?;
                if modern {
                    headers.insert(
                        MCP_PROTOCOL_VERSION,
                        HeaderValue::from_static(MODERN_VERSION),
                    );
                    headers.insert(MCP_METHOD, HeaderValue::from_str(&args.mcp_method)?);
                    if args.mcp_method == "tools/call" {
                        let name = HeaderValue::from_str(&args.tool)
                            .context("--tool must be plain ASCII for Mcp-Name")?;
                        headers.insert(MCP_NAME, name);
                    }
                }
                let tool_call = args.mcp_method == "tools/call";
                (
                    Method::POST,
                    Body::Rpc { prefix, suffix },
                    Expect::Rpc { tool_call },
                )
            }
            Mode::McpInitialize | Mode::McpSessionChurn => {
                mcp_headers(&mut headers);
                let (prefix, suffix) = initialize_template();
                (
                    Method::POST,
                    Body::Rpc { prefix, suffix },
                    Expect::Initialize,
                )
            }
            Mode::Register => {
                headers.insert(header::CONTENT_TYPE, json_type.clone());
                headers.insert(header::ACCEPT, json_type);
                let endpoint = args
                    .endpoint
                    .clone()
                    .context("--mode register needs --endpoint URL")?;
                target::parse_loopback(&endpoint)?;
                if args.instances_per_template == 0 {
                    bail!("--instances-per-template must be at least 1");
                }
                let body = Body::Register {
                    prefix: args.template_prefix.clone(),
                    per_template: args.instances_per_template,
                    endpoint,
                };
                (Method::POST, body, Expect::Success)
            }
        };
        Ok(Self {
            mode: args.mode,
            uri,
            method,
            headers,
            body,
            expect,
        })
    }

    /// How responses are judged.
    pub(crate) fn expect(&self) -> Expect {
        self.expect
    }

    /// Whether each worker opens a legacy session first.
    pub(crate) fn needs_session(&self) -> bool {
        self.mode == Mode::McpLegacy
    }

    /// Whether each request's session is closed (`DELETE`) once opened.
    pub(crate) fn closes_sessions(&self) -> bool {
        self.mode == Mode::McpSessionChurn
    }

    /// `DELETE {url}` for session `id`.
    pub(crate) fn delete(&self, id: HeaderValue) -> Request<Full<Bytes>> {
        let mut headers = self.headers.clone();
        headers.insert(MCP_SESSION_ID, id);
        headers.insert(
            MCP_PROTOCOL_VERSION,
            HeaderValue::from_static(LEGACY_VERSION),
        );
        let mut request = self.build(Bytes::new(), headers);
        *request.method_mut() = Method::DELETE;
        request
    }

    /// Request number `seq` (unique over the run, warm-up included).
    pub(crate) fn request(&self, seq: u64, session: Option<&Session>) -> Request<Full<Bytes>> {
        let body = match &self.body {
            Body::Empty => Bytes::new(),
            Body::Fixed(bytes) => bytes.clone(),
            Body::Rpc { prefix, suffix } => format!("{prefix}{seq}{suffix}").into(),
            Body::Register {
                prefix,
                per_template,
                endpoint,
            } => {
                let template = format!("{prefix}-{}", seq / per_template);
                let instance = format!("{template}-{}", seq % per_template);
                json!({"template_name": template, "instance_id": instance, "endpoint": endpoint})
                    .to_string()
                    .into()
            }
        };
        let mut headers = self.headers.clone();
        if let Some(session) = session {
            headers.insert(MCP_PROTOCOL_VERSION, session.version.clone());
            if let Some(id) = &session.id {
                headers.insert(MCP_SESSION_ID, id.clone());
            }
        }
        self.build(body, headers)
    }

    /// The legacy `initialize` request that opens a worker's session.
    pub(crate) fn initialize(&self) -> Request<Full<Bytes>> {
        let (prefix, suffix) = initialize_template();
        let mut headers = self.headers.clone();
        mcp_headers(&mut headers);
        self.build(format!("{prefix}0{suffix}").into(), headers)
    }

    /// `notifications/initialized` under `session`.
    pub(crate) fn initialized(&self, session: &Session) -> Request<Full<Bytes>> {
        let body = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let mut headers = self.headers.clone();
        headers.insert(MCP_PROTOCOL_VERSION, session.version.clone());
        if let Some(id) = &session.id {
            headers.insert(MCP_SESSION_ID, id.clone());
        }
        self.build(Bytes::from_static(body.as_bytes()), headers)
    }

    fn build(&self, body: Bytes, headers: HeaderMap) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = headers;
        request
    }
}

/// The session id header of an `initialize` response.
pub(crate) fn session_id(headers: &HeaderMap) -> Option<HeaderValue> {
    headers.get(MCP_SESSION_ID).cloned()
}

fn mcp_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
}

/// `(prefix, suffix)` around the id of an MCP request.
fn rpc_template(
    method: &str,
    tool: &str,
    arguments: &Value,
    modern: bool,
) -> anyhow::Result<(String, String)> {
    let mut params = match method {
        "tools/call" => json!({"name": tool, "arguments": arguments}),
        "tools/list" => json!({}),
        other => bail!("--mcp-method {other:?}: expected tools/call or tools/list"),
    };
    if modern && let Some(map) = params.as_object_mut() {
        map.insert(
            "_meta".to_owned(),
            json!({
                "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                "io.modelcontextprotocol/clientInfo": {"name": "gateway-bench", "version": env!("CARGO_PKG_VERSION")},
                "io.modelcontextprotocol/clientCapabilities": {},
            }),
        );
    }
    let method = Value::from(method);
    let suffix = if params.as_object().is_some_and(|m| m.is_empty()) {
        format!(r#","method":{method}}}"#)
    } else {
        format!(r#","method":{method},"params":{params}}}"#)
    };
    Ok((r#"{"jsonrpc":"2.0","id":"#.to_owned(), suffix))
}

fn initialize_template() -> (String, String) {
    let params = json!({
        "protocolVersion": LEGACY_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "gateway-bench", "version": env!("CARGO_PKG_VERSION")},
    });
    (
        r#"{"jsonrpc":"2.0","id":"#.to_owned(),
        format!(r#","method":"initialize","params":{params}}}"#),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn plan(extra: &[&str]) -> Plan {
        let mut argv = vec!["gateway-bench", "load"];
        argv.extend_from_slice(extra);
        let crate::args::Command::Load(args) = crate::args::Cli::parse_from(argv).command else {
            panic!("load")
        };
        Plan::new(&args).unwrap()
    }

    async fn body_of(request: Request<Full<Bytes>>) -> Value {
        use http_body_util::BodyExt as _;
        let bytes = request.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn modern_requests_carry_headers_and_meta() {
        let p = plan(&["--url", "http://127.0.0.1:1/mcp", "--mode", "mcp-modern"]);
        let request = p.request(7, None);
        let h = request.headers().clone();
        assert_eq!(h["mcp-protocol-version"], MODERN_VERSION);
        assert_eq!(h["mcp-method"], "tools/call");
        assert_eq!(h["mcp-name"], "echo");
        let body = body_of(request).await;
        assert_eq!(body["id"], 7);
        assert_eq!(body["params"]["arguments"]["message"], "hello");
        assert_eq!(
            body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            MODERN_VERSION
        );
    }

    #[tokio::test]
    async fn legacy_requests_use_the_session() {
        let p = plan(&[
            "--url",
            "http://127.0.0.1:1/mcp",
            "--mode",
            "mcp-legacy",
            "--mcp-method",
            "tools/list",
        ]);
        assert!(p.needs_session());
        let session = Session {
            id: Some(HeaderValue::from_static("s-1")),
            version: HeaderValue::from_static(LEGACY_VERSION),
        };
        let request = p.request(3, Some(&session));
        assert_eq!(request.headers()["mcp-session-id"], "s-1");
        assert!(request.headers().get("mcp-name").is_none());
        let body = body_of(request).await;
        assert_eq!(
            body,
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
        );
        let init = body_of(p.initialize()).await;
        assert_eq!(init["params"]["protocolVersion"], LEGACY_VERSION);
    }

    #[test]
    fn churn_deletes_the_session_it_opened() {
        let p = plan(&[
            "--url",
            "http://127.0.0.1:1/mcp/echo",
            "--mode",
            "mcp-session-churn",
        ]);
        assert!(p.closes_sessions() && !p.needs_session());
        assert_eq!(p.expect(), Expect::Initialize);
        let delete = p.delete(HeaderValue::from_static("s-9"));
        assert_eq!(delete.method(), Method::DELETE);
        assert_eq!(delete.uri(), "http://127.0.0.1:1/mcp/echo");
        assert_eq!(delete.headers()["mcp-session-id"], "s-9");
    }

    #[tokio::test]
    async fn register_bodies_spread_instances_over_templates() {
        let p = plan(&[
            "--url",
            "http://127.0.0.1:1/gateway/register",
            "--mode",
            "register",
            "--endpoint",
            "http://127.0.0.1:2/mcp",
            "--instances-per-template",
            "3",
        ]);
        let body = body_of(p.request(7, None)).await;
        assert_eq!(body["template_name"], "scale-2");
        assert_eq!(body["instance_id"], "scale-2-1");
    }

    #[test]
    fn rejects_bad_arguments() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["gateway-bench", "load"];
            argv.extend_from_slice(extra);
            let crate::args::Command::Load(args) = crate::args::Cli::parse_from(argv).command
            else {
                panic!("load")
            };
            Plan::new(&args)
        };
        let url = ["--url", "http://127.0.0.1:1/x"];
        assert!(
            parse(&[&url[..], &["--mode", "rest-call", "--arguments", "[1]"]].concat()).is_err()
        );
        assert!(
            parse(&[&url[..], &["--mode", "mcp-modern", "--mcp-method", "x"]].concat()).is_err()
        );
        assert!(parse(&[&url[..], &["--mode", "register"]].concat()).is_err());
        assert!(
            parse(&["--url", "http://192.0.2.1/x", "--mode", "rest-list"]).is_err(),
            "non-loopback"
        );
    }
}
