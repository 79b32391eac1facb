//! Legacy (session-based) Streamable HTTP tests of the echo server.

mod common;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use common::*;

#[tokio::test]
async fn legacy_handshake_sessions_and_delete() {
    let addr = start("legacy").await;
    let session = initialize(addr).await;
    assert_eq!(
        uuid::Uuid::parse_str(&session).unwrap().get_version_num(),
        4
    );
    let with_session = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];

    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _, body) = post(addr, &with_session, &initialized).await;
    assert_eq!((status, body.len()), (StatusCode::ACCEPTED, 0));

    let (status, _, body) = post_json(
        addr,
        &with_session,
        &request(json!("l"), "tools/list", json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], "l");
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 6);

    let add = request(
        json!(3),
        "tools/call",
        json!({"name": "add", "arguments": {"a": 2, "b": 3}}),
    );
    let (_, _, body) = post_json(addr, &with_session, &add).await;
    assert_eq!(body["id"], 3);
    assert_eq!(body["result"]["structuredContent"], json!({"result": 5}));
    assert_eq!(body["result"]["content"][0]["text"], "5");
    assert!(body["result"].get("resultType").is_none());

    let (status, _, body) = post_json(addr, &[], &add).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "Bad Request: Mcp-Session-Id header is required"
    );
    assert_eq!(body["id"], Value::Null);

    let unknown = [("mcp-session-id", "00000000-0000-4000-8000-000000000000")];
    let (status, _, body) = post_json(addr, &unknown, &add).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32001, "message": "Session not found"}})
    );

    let delete = |session: String| async move {
        send(
            addr,
            Method::DELETE,
            "/mcp",
            &[("mcp-session-id", &session)],
            "",
        )
        .await
        .status()
    };
    assert_eq!(delete(session.clone()).await, StatusCode::OK);
    assert_eq!(delete(session.clone()).await, StatusCode::NOT_FOUND);
    let (status, _, _) = post_json(addr, &with_session, &add).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn restarted_server_forgets_sessions() {
    let first = start("first").await;
    let session = initialize(first).await;
    let second = start("second").await;
    let ping = request(json!(1), "ping", json!({}));
    let (status, _, body) = post_json(second, &[("mcp-session-id", &session)], &ping).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], -32001);
}
