//! The Streamable HTTP and legacy HTTP+SSE adapters against real servers over loopback:
//! our echo fixture (both eras) and server-everything (streamableHttp and sse modes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_core::{EndpointUrl, Headers, InstanceId, InstanceSpec, mcp::ProtocolVersion};
use gateway_e2e::{rpc::*, *};
use gateway_transport::{CallOptions, Connector, EraPreference, Options, Upstream};
use serde_json::json;

const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

fn http(url: &str) -> InstanceSpec {
    InstanceSpec::Http {
        url: EndpointUrl::parse(url).unwrap(),
        headers: Headers::default(),
    }
}

fn connect(options: Options, spec: &InstanceSpec) -> Upstream {
    init_tracing();
    Connector::new(options)
        .connect(InstanceId::parse("http-1").unwrap(), spec)
        .unwrap()
}

#[tokio::test]
async fn echo_fixture_modern_era_over_http() {
    let echo = EchoHttp::spawn(ECHO, 0, "h1").await;
    let up = connect(Options::default(), &http(&echo.url()));
    assert_eq!(
        up.ready().await.unwrap().protocol_version,
        ProtocolVersion::V2026_07_28
    );
    assert!(tool_names(&list_tools(&up).await.unwrap()).contains(&"whoami".to_owned()));
    let who = call_tool(&up, "whoami", json!({})).await.unwrap();
    assert_eq!(text(&who), "h1");
    assert_eq!(who["resultType"], "complete");
    // 100 concurrent calls over the pooled client, each with its own answer.
    let calls = (0..100).map(|i| {
        let up = up.clone();
        async move {
            (
                i,
                text(
                    &call_tool(&up, "echo", json!({"message": format!("c{i}")}))
                        .await
                        .unwrap(),
                )
                .to_owned(),
            )
        }
    });
    for (i, got) in futures_util::future::join_all(calls).await {
        assert_eq!(got, format!("c{i}"));
    }
    up.close().await;
}

#[tokio::test]
async fn expired_session_is_reinitialized_transparently() {
    let echo = EchoHttp::spawn(ECHO, 0, "before").await;
    let port = echo.port;
    let options = Options {
        era: EraPreference::Legacy,
        ..Options::default()
    };
    let up = connect(options, &http(&echo.url()));
    assert_eq!(
        up.ready().await.unwrap().protocol_version,
        ProtocolVersion::V2025_11_25
    );
    assert_eq!(
        text(&call_tool(&up, "whoami", json!({})).await.unwrap()),
        "before"
    );
    // Restart the upstream on the same port: every session it knew is gone (404).
    echo.kill().await;
    let echo = EchoHttp::spawn(ECHO, port, "after").await;
    let who = call_tool(&up, "whoami", json!({}))
        .await
        .expect("the 404 must be absorbed by a re-initialize");
    assert_eq!(text(&who), "after");
    up.close().await;
    echo.kill().await;
}

#[tokio::test]
async fn connection_refused_is_reported_as_unsent() {
    let port = free_port();
    let options = Options {
        connect_timeout: Duration::from_secs(2),
        ..Options::default()
    };
    let up = connect(options, &http(&format!("http://127.0.0.1:{port}/mcp")));
    let e = list_tools(&up).await.unwrap_err();
    assert!(
        e.is_unsent(),
        "a refused connection never reached the upstream: {e}"
    );
}

#[tokio::test]
async fn request_timeout_over_http() {
    let echo = EchoHttp::spawn(ECHO, 0, "slow").await;
    let up = connect(Options::default(), &http(&echo.url()));
    let params = json!({"name": "sleep_ms", "arguments": {"ms": 3000}});
    let opts = CallOptions {
        timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    let e = up
        .call(request(1, "tools/call", Some(params)), opts)
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert_eq!(
        text(
            &call_tool(&up, "echo", json!({"message": "still fine"}))
                .await
                .unwrap()
        ),
        "still fine"
    );
}

async fn everything(mode: &str) -> Option<(tokio::process::Child, u16)> {
    let bin = server_everything()?;
    let port = free_port();
    let child = tokio::process::Command::new(bin)
        .arg(mode)
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for_port(port, Duration::from_secs(20)).await;
    Some((child, port))
}

#[tokio::test]
async fn server_everything_streamable_http_with_sse_progress() {
    let Some((_child, port)) = everything("streamableHttp").await else {
        return;
    };
    let up = connect(
        Options::default(),
        &http(&format!("http://127.0.0.1:{port}/mcp")),
    );
    let info = up.ready().await.unwrap();
    assert_eq!(
        info.protocol_version,
        ProtocolVersion::V2025_11_25,
        "auto falls back to the session era"
    );
    assert!(tool_names(&list_tools(&up).await.unwrap()).contains(&"echo".to_owned()));
    assert_eq!(
        text(
            &call_tool(&up, "echo", json!({"message": "hi"}))
                .await
                .unwrap()
        ),
        "Echo: hi"
    );
    // Progress arrives on the POST's SSE stream before the final response.
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let params = json!({"name": "trigger-long-running-operation", "arguments": {"duration": 1, "steps": 3}, "_meta": {"progressToken": 77}});
    let r = up
        .call(
            request("lr", "tools/call", Some(params)),
            CallOptions {
                progress: Some(tx),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r.id, Some("lr".into()));
    let mut progress = Vec::new();
    while let Ok(n) = rx.try_recv() {
        let p: serde_json::Value = serde_json::from_str(n.params.unwrap().get()).unwrap();
        assert_eq!(p["progressToken"], 77);
        progress.push(p["progress"].as_f64().unwrap());
    }
    assert_eq!(progress, vec![1.0, 2.0, 3.0]);
    up.close().await;
}

#[tokio::test]
async fn server_everything_legacy_sse_transport() {
    let Some((_child, port)) = everything("sse").await else {
        return;
    };
    let spec = InstanceSpec::Sse {
        url: EndpointUrl::parse(&format!("http://127.0.0.1:{port}/sse")).unwrap(),
        headers: Headers::default(),
    };
    let up = connect(Options::default(), &spec);
    let info = up.ready().await.unwrap();
    assert_eq!(info.protocol_version.era(), gateway_core::mcp::Era::Legacy);
    assert!(tool_names(&list_tools(&up).await.unwrap()).contains(&"get-sum".to_owned()));
    assert_eq!(
        text(
            &call_tool(&up, "get-sum", json!({"a": 2, "b": 3}))
                .await
                .unwrap()
        ),
        "The sum of 2 and 3 is 5."
    );
    let calls = (0..20).map(|i| {
        let up = up.clone();
        async move {
            (
                i,
                text(
                    &call_tool(&up, "echo", json!({"message": format!("s{i}")}))
                        .await
                        .unwrap(),
                )
                .to_owned(),
            )
        }
    });
    for (i, got) in futures_util::future::join_all(calls).await {
        assert_eq!(got, format!("Echo: s{i}"));
    }
    up.close().await;
}
