//! The legacy-era GET stream against the reference server: `server-everything` in
//! `streamableHttp` mode sends its simulated logging on the session's GET stream, so
//! `notifications/message` reaches `Upstream::subscribe()` only if the adapter listens
//! there. Needs `scripts/test-deps`; skips loudly without it (fails when
//! `MCP_GATEWAY_REQUIRE_DEPS=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use gateway_core::{
    EndpointUrl, Headers, InstanceId, InstanceSpec,
    jsonrpc::{Request, RequestId, to_raw},
};
use gateway_transport::{CallOptions, Connector, Options, ServerMessage};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

fn server_everything() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.mcp-test/node_modules/.bin/mcp-server-everything");
    if path.exists() {
        return Some(path);
    }
    let msg = format!(
        "@modelcontextprotocol/server-everything not found at {}: run scripts/test-deps",
        path.display()
    );
    if std::env::var("MCP_GATEWAY_REQUIRE_DEPS").as_deref() == Ok("1") {
        panic!("{msg} (MCP_GATEWAY_REQUIRE_DEPS=1 turns this skip into a failure)");
    }
    eprintln!("\n!!! SKIPPED: {msg}\n");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_until(what: &str, within: Duration, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_logging_arrives_on_the_get_stream() {
    let Some(bin) = server_everything() else {
        return;
    };
    let port = free_port();
    let mut child = tokio::process::Command::new(bin)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The server logs every GET it receives on stdout: count them.
    let gets = Arc::new(AtomicUsize::new(0));
    let resumes = Arc::new(AtomicUsize::new(0));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (g, r) = (gets.clone(), resumes.clone());
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("Received MCP GET request") {
                g.fetch_add(1, Ordering::SeqCst);
            }
            if line.contains("Last-Event-ID") {
                r.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server-everything did not listen"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let spec = InstanceSpec::Http {
        url: EndpointUrl::parse(&format!("http://127.0.0.1:{port}/mcp")).unwrap(),
        headers: Headers::default(),
    };
    let up = Connector::new(Options::default())
        .connect(InstanceId::parse("everything-1").unwrap(), &spec)
        .unwrap();
    let mut rx = up.subscribe();
    let info = up.ready().await.unwrap();
    assert!(info.protocol_version.as_str() < "2026", "a legacy session");
    wait_until("the GET stream to open", Duration::from_secs(10), || {
        gets.load(Ordering::SeqCst) == 1
    })
    .await;

    // The tool sends one message at once, then one every 5 s, all outside the call.
    let params = json!({"name": "toggle-simulated-logging", "arguments": {}});
    let call = Request::new(RequestId::Number(1), "tools/call", Some(to_raw(&params)));
    let r = up.call(call, CallOptions::default()).await.unwrap();
    assert!(r.error_object().is_none(), "{r:?}");
    let logged = tokio::time::timeout(Duration::from_secs(12), async {
        loop {
            match rx.recv().await.unwrap() {
                ServerMessage::Notification(n) if n.method == "notifications/message" => {
                    return n;
                }
                _ => {}
            }
        }
    })
    .await
    .expect("no notifications/message from the GET stream within 12 s");
    let params = logged.params.unwrap();
    assert!(params.get().contains("level"), "{}", params.get());
    assert_eq!(gets.load(Ordering::SeqCst), 1, "one GET stream per session");

    // close() ends the session; the listener must not reconnect (a live one would retry
    // after 1 s, with Last-Event-ID).
    up.close().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(gets.load(Ordering::SeqCst), 1, "a GET after close()");
    assert_eq!(resumes.load(Ordering::SeqCst), 0);
    let _ = child.kill().await;
}
