//! Modern (stateless) requests and HTTP status codes of the echo server.

mod common;

use http_body_util::BodyExt as _;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use common::*;

#[tokio::test]
async fn modern_requests_need_no_session() {
    let addr = start("modern").await;
    let _legacy_session = initialize(addr).await; // sessions issued: legacy requests now need one
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "whoami"),
    ];
    let call = request(
        json!("m1"),
        "tools/call",
        modern(json!({"name": "whoami", "arguments": {}})),
    );
    let (status, headers_out, body) = post_json(addr, &headers, &call).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers_out.get("mcp-session-id").is_none());
    assert_eq!(body["id"], "m1");
    assert_eq!(body["result"]["resultType"], "complete");
    assert_eq!(
        body["result"]["structuredContent"],
        json!({"instance_id": "modern", "pid": std::process::id()})
    );
    assert_eq!(
        body["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "echo-server"
    );

    let discover = request(json!(2), "server/discover", modern(json!({})));
    let (status, _, body) = post_json(addr, &[("mcp-method", "server/discover")], &discover).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"]["supportedVersions"][0], "2026-07-28");

    let unknown = request(json!(3), "nope/nope", modern(json!({})));
    let (status, _, body) = post_json(addr, &[], &unknown).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (StatusCode::NOT_FOUND, Some(-32601))
    );

    let mut future = request(json!(4), "tools/list", json!({}));
    future["params"]["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2027-01-01"});
    let (status, _, body) = post_json(addr, &[], &future).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["id"], 4);
    assert_eq!(body["error"]["code"], -32022);
    assert_eq!(body["error"]["data"]["requested"], "2027-01-01");
}

#[tokio::test]
async fn header_mismatch_is_32020() {
    let addr = start("mismatch").await;
    let call = request(
        json!(9),
        "tools/call",
        modern(json!({"name": "echo", "arguments": {"message": "x"}})),
    );
    for headers in [
        [("mcp-method", "tools/list"), ("mcp-name", "echo")],
        [("mcp-method", "tools/call"), ("mcp-name", "add")],
    ] {
        let (status, _, body) = post_json(addr, &headers, &call).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], -32020);
        assert_eq!(body["id"], 9);
    }
}

#[tokio::test]
async fn http_status_codes() {
    let addr = start("status").await;
    let response = send(
        addr,
        Method::GET,
        "/mcp",
        &[("accept", "text/event-stream")],
        "",
    )
    .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST, DELETE");
    assert_eq!(
        send(addr, Method::POST, "/other", &[], "{}").await.status(),
        StatusCode::NOT_FOUND
    );

    let ping = request(json!(1), "ping", json!({}));
    let (status, _, _) = post(addr, &[("accept", "text/html")], &ping).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    let text = send(
        addr,
        Method::POST,
        "/mcp",
        &[("content-type", "text/plain")],
        &ping.to_string(),
    )
    .await;
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let garbage = send(
        addr,
        Method::POST,
        "/mcp",
        &[("content-type", "application/json")],
        "{oops",
    )
    .await;
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    let body: Value =
        serde_json::from_slice(&garbage.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(
        (body["id"].clone(), body["error"]["code"].as_i64()),
        (Value::Null, Some(-32700))
    );

    // No Accept header at all is treated as JSON; a number id stays a number.
    let plain = send(
        addr,
        Method::POST,
        "/mcp",
        &[("content-type", "application/json")],
        &ping.to_string(),
    )
    .await;
    let body: Value =
        serde_json::from_slice(&plain.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body, json!({"jsonrpc": "2.0", "id": 1, "result": {}}));

    // Declared body over 16 MiB.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = "POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 17000000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = [0u8; 12];
    stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 413");
}
