//! Shared helpers of the echo server's HTTP tests: an in-process server and a tiny client.

// Every test binary uses a different subset of the helpers; helpers may panic.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;

use bytes::Bytes;
use gateway_examples::echo::{EchoConfig, serve_http};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

pub(crate) const JSON_AND_SSE: &str = "application/json, text/event-stream";

pub(crate) async fn start(instance_id: &str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_http(listener, EchoConfig::new(instance_id)));
    addr
}

pub(crate) async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response<Incoming> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    sender.send_request(request).await.unwrap()
}

/// POSTs `body` to /mcp with JSON content type and the given extra headers.
pub(crate) async fn post(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: &Value,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut all = vec![("content-type", "application/json")];
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
    {
        all.push(("accept", JSON_AND_SSE));
    }
    all.extend_from_slice(headers);
    let response = send(addr, Method::POST, "/mcp", &all, &body.to_string()).await;
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

pub(crate) async fn post_json(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: &Value,
) -> (StatusCode, HeaderMap, Value) {
    let (status, headers, bytes) = post(addr, headers, body).await;
    assert_eq!(
        headers["content-type"], "application/json",
        "status {status}: {bytes:?}"
    );
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

pub(crate) fn request(id: Value, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

pub(crate) fn modern(mut params: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    params
}

pub(crate) async fn initialize(addr: SocketAddr) -> String {
    let params = json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}});
    let (status, headers, body) =
        post_json(addr, &[], &request(json!(1), "initialize", params)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"]["protocolVersion"], "2025-11-25");
    headers["mcp-session-id"].to_str().unwrap().to_owned()
}
