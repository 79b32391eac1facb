//! [`McpHttp`]: a raw Streamable HTTP MCP client for the gateway's native endpoints, so
//! tests see every status code, header and SSE frame (the Python and TypeScript SDK
//! tests cover the same endpoints through real client libraries).

use std::time::Duration;

use serde_json::{Value, json};

use crate::http::Reply;

/// One client of one MCP endpoint URL.
pub struct McpHttp {
    client: reqwest::Client,
    url: String,
    /// The session id from `initialize` (legacy era).
    pub session: Option<String>,
    next_id: i64,
    /// Sent with every request (e.g. a credential).
    headers: Vec<(String, String)>,
}

/// The `_meta` a 2026-07-28 request carries.
pub fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "e2e", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

impl McpHttp {
    /// A client of `url` (e.g. `http://127.0.0.1:PORT/mcp/echo`).
    pub fn new(url: impl Into<String>) -> McpHttp {
        crate::install_crypto_provider();
        McpHttp {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            url: url.into(),
            session: None,
            next_id: 1,
            headers: Vec::new(),
        }
    }

    /// Sends `name: value` with every request from now on (e.g. `x-api-key`).
    pub fn with_header(mut self, name: &str, value: &str) -> McpHttp {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Another client of `url` sharing this one's connection pool (building a client
    /// costs milliseconds of CPU: tests with many clients share one).
    pub fn sharing(&self, url: impl Into<String>) -> McpHttp {
        McpHttp {
            client: self.client.clone(),
            url: url.into(),
            session: None,
            next_id: 1,
            headers: Vec::new(),
        }
    }

    /// POSTs `body` with the standard headers (both Accept types, JSON content type, the
    /// session id if any) plus `extra`.
    pub async fn post(&self, body: &Value, extra: &[(&str, &str)]) -> Reply {
        let mut request = self
            .client
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        reply(request).await
    }

    /// A request builder with this client's session (for GET, DELETE, odd headers).
    pub fn raw(&self, method: reqwest::Method) -> reqwest::RequestBuilder {
        let mut request = self.client.request(method, &self.url);
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        request
    }

    /// Sends a built request and reads the whole reply.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        reply(request).await
    }

    /// Legacy `initialize` + `notifications/initialized`; keeps the session id and
    /// returns the InitializeResult.
    pub async fn initialize(&mut self, version: &str) -> Value {
        self.session = None;
        let r = self
            .post(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": version, "capabilities": {},
                    "clientInfo": {"name": "e2e", "version": "0"}}}),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "initialize: {}", r.text);
        self.session = Some(
            r.header("mcp-session-id")
                .expect("initialize returns Mcp-Session-Id")
                .to_owned(),
        );
        let result = messages(&r).pop().unwrap()["result"].clone();
        let r = self
            .post(
                &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                &[("mcp-protocol-version", version)],
            )
            .await;
        assert_eq!(r.status, 202, "initialized: {}", r.text);
        result
    }

    /// A legacy request in the session; returns the final JSON-RPC response message.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let r = self.request_reply(method, params).await;
        assert_eq!(r.status, 200, "{method}: {}", r.text);
        messages(&r).pop().expect("a response message")
    }

    /// Like [`McpHttp::request`] but returns the raw reply.
    pub async fn request_reply(&mut self, method: &str, params: Value) -> Reply {
        self.next_id += 1;
        let body =
            json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        self.post(&body, &[]).await
    }

    /// A stateless 2026-07-28 request with correct headers (`name` for `Mcp-Name`).
    pub async fn modern(&mut self, method: &str, mut params: Value, name: Option<&str>) -> Reply {
        self.next_id += 1;
        params["_meta"] = modern_meta();
        let body =
            json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        let mut headers = vec![
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", method),
        ];
        if let Some(name) = name {
            headers.push(("mcp-name", name));
        }
        self.post(&body, &headers).await
    }
}

async fn reply(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Reply {
        status,
        headers,
        text,
    }
}

/// The JSON-RPC messages of a reply: one JSON body, or every SSE `data:` event.
pub fn messages(reply: &Reply) -> Vec<Value> {
    let sse = reply
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream"));
    if !sse {
        return vec![reply.json()];
    }
    sse_messages(&reply.text)
}

/// Every non-empty `data:` payload of an SSE text, parsed.
pub fn sse_messages(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for event in text.split("\n\n") {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        if data.is_empty() || data.iter().all(|d| d.is_empty()) {
            continue;
        }
        out.push(serde_json::from_str(&data.join("\n")).unwrap());
    }
    out
}
