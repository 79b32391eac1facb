//! SSE streaming and concurrency tests of the echo server.

mod common;

use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use common::*;

#[tokio::test]
async fn sleep_with_progress_streams_three_sse_events() {
    let addr = start("sse").await;
    let mut params = modern(json!({"name": "sleep_ms", "arguments": {"ms": 1500}}));
    params["_meta"]["progressToken"] = json!("tok-1");
    let call = request(json!(5), "tools/call", params);
    let headers = [
        ("content-type", "application/json"),
        ("accept", JSON_AND_SSE),
        ("mcp-protocol-version", "2026-07-28"),
    ];
    let started = Instant::now();
    let response = send(addr, Method::POST, "/mcp", &headers, &call.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let mut text = String::new();
    let mut first_event_at = None;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            text.push_str(std::str::from_utf8(&data).unwrap());
            if first_event_at.is_none() && text.contains("\n\n") {
                first_event_at = Some(started.elapsed());
            }
        }
    }
    assert!(
        first_event_at.unwrap() < Duration::from_millis(1400),
        "progress was not streamed early"
    );
    let events: Vec<Value> = text
        .split_terminator("\n\n")
        .map(|event| {
            let data = event.strip_prefix("event: message\ndata: ").unwrap();
            serde_json::from_str(data).unwrap()
        })
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["method"], "notifications/progress");
    assert_eq!(
        events[0]["params"],
        json!({"progressToken": "tok-1", "progress": 1, "total": 2})
    );
    assert_eq!(
        events[1]["params"],
        json!({"progressToken": "tok-1", "progress": 2, "total": 2})
    );
    assert_eq!(events[2]["id"], 5);
    assert_eq!(events[2]["result"]["content"][0]["text"], "slept 1500ms");
    assert_eq!(events[2]["result"]["resultType"], "complete");
}

#[tokio::test]
async fn sse_only_accept_gets_one_event() {
    let addr = start("sse-only").await;
    let ping = request(json!(1), "ping", json!({}));
    let (status, headers, body) = post(addr, &[("accept", "text/event-stream")], &ping).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(
        &body[..],
        b"event: message\ndata: {\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{}}\n\n"
    );
}

#[tokio::test]
async fn concurrent_sleeps_overlap() {
    let addr = start("concurrent").await;
    let started = Instant::now();
    let calls = (0..50).map(|i| {
        let call = request(
            json!(i),
            "tools/call",
            modern(json!({"name": "sleep_ms", "arguments": {"ms": 300}})),
        );
        tokio::spawn(async move { post_json(addr, &[], &call).await.2 })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(
            call.await.unwrap()["result"]["content"][0]["text"],
            "slept 300ms"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}
