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

/// A `tools/call` of `echo` with `message`, as sent by [`call_tool`].
fn echo_request(message: &str) -> gateway_core::jsonrpc::Request {
    request(
        1,
        "tools/call",
        Some(json!({"name": "echo", "arguments": {"message": message}})),
    )
}

/// Both eras, because they frame requests differently (`_meta` and headers in the
/// modern one, a session in the legacy one) and the limit must hold for each.
#[tokio::test]
async fn message_size_limit_refuses_large_requests_and_replies() {
    const LIMIT: usize = 1000;
    let echo = EchoHttp::spawn(ECHO, 0, "small").await;
    // The tap proves the refused request never left the gateway.
    let tap = gateway_e2e::auth::Tap::start(echo.port).await;
    for era in [EraPreference::Legacy, EraPreference::Modern] {
        let options = Options {
            max_message_size: LIMIT,
            era,
            ..Options::default()
        };
        let up = connect(
            options,
            &http(&format!("http://127.0.0.1:{}/mcp", tap.port)),
        );
        up.ready().await.unwrap();
        // Just under the limit still goes through: the limit is not over-eager.
        let fits = "f".repeat(LIMIT / 2);
        assert_eq!(
            text(
                &call_tool(&up, "echo", json!({"message": fits}))
                    .await
                    .unwrap()
            ),
            fits
        );

        // (a) A request over the limit is refused before it is sent.
        let marker = format!("too-big-{era:?}-");
        let big = format!("{marker}{}", "x".repeat(LIMIT));
        let e = up
            .call(echo_request(&big), CallOptions::default())
            .await
            .unwrap_err();
        assert!(e.is_too_large(), "{era:?}: {e}");
        assert!(
            e.to_string().contains("exceeds the limit of 1000 bytes"),
            "{e}"
        );
        assert!(
            !e.is_instance_failure(),
            "an oversized request is not the upstream's fault"
        );
        assert!(
            !tap.sent().await.contains(&marker),
            "{era:?}: the oversized request reached the upstream"
        );

        // (b) A reply over the limit fails that call. echo's reply is never larger than
        // its request, so the echo server's own tools/list (~1.3 KB for a ~60 B request)
        // is the oversized reply.
        let e = list_tools(&up).await.unwrap_err();
        assert!(e.is_too_large(), "{era:?}: {e}");
        assert!(e.to_string().contains("exceeds the limit"), "{e}");
        assert!(
            tap.sent().await.contains("tools/list"),
            "{era:?}: the tools/list request itself must have been sent"
        );

        // The upstream (and its session) still serves the next normal call.
        assert_eq!(
            text(
                &call_tool(&up, "echo", json!({"message": "after"}))
                    .await
                    .unwrap()
            ),
            "after"
        );
        up.close().await;
    }
    echo.kill().await;
}

/// A listener whose accept queue is full: the kernel drops further SYNs, so a connect
/// hangs until the client gives up. Returns it with the connections that fill it (all
/// must stay alive). Verified on Linux with `tcp_abort_on_overflow=0` (the default);
/// a non-routable address is no substitute where a proxy answers everything.
async fn unanswered_port() -> (tokio::net::TcpListener, Vec<tokio::net::TcpStream>, u16) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let probe = tokio::net::TcpStream::connect(("127.0.0.1", port));
        match tokio::time::timeout(Duration::from_millis(300), probe).await {
            Ok(stream) => fillers.push(stream.unwrap()),
            Err(_) => return (listener, fillers, port),
        }
    }
    panic!("this kernel completes TCP handshakes beyond a full accept queue");
}

#[tokio::test]
async fn connect_timeout_expires_on_an_unanswered_handshake() {
    let (_listener, _fillers, port) = unanswered_port().await;
    let connect_timeout = Duration::from_millis(500);
    let options = Options {
        connect_timeout,
        request_timeout: Duration::from_secs(30),
        ..Options::default()
    };
    let up = connect(options, &http(&format!("http://127.0.0.1:{port}/mcp")));
    let started = std::time::Instant::now();
    let e = list_tools(&up).await.unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= connect_timeout - Duration::from_millis(50),
        "failed after {took:?}, before the connect timeout: {e}"
    );
    assert!(
        took < Duration::from_secs(5),
        "the connect timeout did not fire (took {took:?}): {e}"
    );
    assert!(e.is_unsent(), "a connection never made is unsent: {e}");
    assert!(!e.to_string().contains("refused"), "{e}");
}

#[tokio::test]
async fn request_timeout_when_the_upstream_accepts_but_never_answers() {
    // Accepts connections and reads whatever arrives, but never writes a byte.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    let silent = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut stream, &mut tokio::io::sink()).await;
            });
        }
    });
    let request_timeout = Duration::from_millis(600);
    let options = Options {
        request_timeout,
        connect_timeout: Duration::from_secs(10),
        ..Options::default()
    };
    let up = connect(options, &http(&format!("http://127.0.0.1:{port}/mcp")));
    let started = std::time::Instant::now();
    let e = call_tool(&up, "echo", json!({"message": "anyone?"}))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(e.is_timeout(), "{e}");
    assert!(e.to_string().contains("no response within"), "{e}");
    assert!(
        took >= request_timeout - Duration::from_millis(50) && took < Duration::from_secs(5),
        "timed out after {took:?}, configured {request_timeout:?}"
    );
    assert!(
        accepted.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the request must have reached the silent listener"
    );
    silent.abort();
}

/// How many times `needle` occurs in `haystack`.
fn occurrences(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The distinct `Mcp-Session-Id` values in a tap's recording of HTTP requests.
fn session_ids(sent: &str) -> std::collections::BTreeSet<String> {
    sent.split("\r\n")
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("mcp-session-id")
                .then(|| value.trim().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn concurrent_calls_share_one_legacy_session() {
    let echo = EchoHttp::spawn(ECHO, 0, "shared").await;
    let tap = gateway_e2e::auth::Tap::start(echo.port).await;
    let options = Options {
        era: EraPreference::Legacy,
        ..Options::default()
    };
    let up = connect(
        options,
        &http(&format!("http://127.0.0.1:{}/mcp", tap.port)),
    );
    // No ready() first: all 20 calls race to open the session themselves.
    let calls = (0..20).map(|i| {
        let up = up.clone();
        async move {
            let r = call_tool(&up, "echo", json!({"message": format!("m{i}")})).await;
            (i, text(&r.unwrap()).to_owned())
        }
    });
    for (i, got) in futures_util::future::join_all(calls).await {
        assert_eq!(got, format!("m{i}"));
    }
    assert_eq!(
        up.ready().await.unwrap().protocol_version,
        ProtocolVersion::V2025_11_25
    );
    let sent = tap.sent().await;
    assert_eq!(
        occurrences(&sent, r#""method":"initialize""#),
        1,
        "one handshake for all concurrent calls"
    );
    assert_eq!(occurrences(&sent, r#""method":"tools/call""#), 20);
    assert_eq!(
        session_ids(&sent).len(),
        1,
        "every request after initialize carries the one session id"
    );
    up.close().await;
    echo.kill().await;
}

fn notification(
    method: &str,
    params: Option<serde_json::Value>,
) -> gateway_core::jsonrpc::Notification {
    gateway_core::jsonrpc::Notification {
        method: method.to_owned(),
        params: params.map(|p| gateway_core::jsonrpc::to_raw(&p)),
    }
}

/// The echo server answers a notification 202 only with the right era headers and (legacy)
/// a known session; anything else would be a 400 or 404, which `notify` must report.
#[tokio::test]
async fn notify_is_accepted_by_the_echo_server_in_both_eras() {
    let echo = EchoHttp::spawn(ECHO, 0, "notified").await;
    let tap = gateway_e2e::auth::Tap::start(echo.port).await;
    for era in [EraPreference::Legacy, EraPreference::Modern] {
        let options = Options {
            era,
            ..Options::default()
        };
        let up = connect(
            options,
            &http(&format!("http://127.0.0.1:{}/mcp", tap.port)),
        );
        let method = format!("notifications/x-gateway-test/{era:?}");
        up.notify(notification(&method, Some(json!({"n": 1}))))
            .await
            .unwrap();
        let sent = tap.sent().await;
        let post = sent
            .split("POST /mcp")
            .find(|request| request.contains(&method))
            .unwrap_or_else(|| panic!("{era:?}: the notification never reached the upstream"));
        let lower = post.to_ascii_lowercase();
        match era {
            EraPreference::Legacy => assert!(lower.contains("mcp-session-id:"), "{post}"),
            _ => assert!(lower.contains("mcp-protocol-version: 2026-07-28"), "{post}"),
        }
        // The upstream is still usable after the notification.
        assert_eq!(
            text(
                &call_tool(&up, "echo", json!({"message": "ok"}))
                    .await
                    .unwrap()
            ),
            "ok"
        );
        up.close().await;
    }
    echo.kill().await;
}

#[tokio::test]
async fn notify_reports_a_rejected_notification() {
    let echo = EchoHttp::spawn(ECHO, 0, "strict").await;
    let options = Options {
        era: EraPreference::Modern,
        ..Options::default()
    };
    let up = connect(options, &http(&echo.url()));
    up.ready().await.unwrap();
    // A protocol version the server does not speak: the echo server answers 400 with a
    // JSON-RPC error body, which must not pass for "accepted".
    let params = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "1999-01-01"}});
    let e = up
        .notify(notification("notifications/x-gateway-test", Some(params)))
        .await
        .expect_err("a 400 answer to a notification is not success");
    assert_eq!(e.http_status(), Some(400), "{e}");
    assert!(
        !e.is_instance_failure(),
        "a refused message is not an unwell upstream: {e}"
    );
    up.close().await;
    echo.kill().await;
}

#[tokio::test]
async fn server_everything_streamable_http_handles_roots_list_changed() {
    let Some((_child, port)) = everything("streamableHttp").await else {
        return;
    };
    let options = Options {
        client_capabilities: roots_capabilities(),
        ..Options::default()
    };
    let up = connect(options, &http(&format!("http://127.0.0.1:{port}/mcp")));
    roots_list_changed_reaches_server_everything(&up).await;
    up.close().await;
}
