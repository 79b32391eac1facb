//! The stdio adapter against real child processes: our echo fixture, server-everything,
//! server-filesystem and mcp-server-time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, time::Duration};

use gateway_core::{InstanceId, InstanceSpec, StdioCommand, mcp::ProtocolVersion};
use gateway_e2e::{rpc::*, *};
use gateway_transport::{CallOptions, Connector, Options, Upstream};
use serde_json::json;

const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

fn stdio(command: &str, args: &[&str], env: &[(&str, &str)]) -> InstanceSpec {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    InstanceSpec::Stdio(
        StdioCommand::new(
            command,
            args.iter().map(|a| (*a).to_owned()).collect(),
            env,
            None,
        )
        .unwrap(),
    )
}

fn connect(options: Options, spec: &InstanceSpec) -> Upstream {
    init_tracing();
    Connector::new(options)
        .connect(InstanceId::parse("test-1").unwrap(), spec)
        .unwrap()
}

#[tokio::test]
async fn echo_fixture_lists_and_calls() {
    let up = connect(
        Options::default(),
        &stdio(ECHO, &["--stdio", "--instance-id", "e1"], &[]),
    );
    let info = up.ready().await.unwrap();
    assert_eq!(
        info.protocol_version,
        ProtocolVersion::V2026_07_28,
        "auto mode should pick the modern era"
    );
    let tools = tool_names(&list_tools(&up).await.unwrap());
    for t in ["echo", "add", "sleep_ms", "fail", "crash", "whoami"] {
        assert!(tools.contains(&t.to_owned()), "{t} missing from {tools:?}");
    }
    let sum = call_tool(&up, "add", json!({"a": 2, "b": 40}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "42");
    assert_eq!(sum["structuredContent"]["result"], 42);
    let failed = call_tool(&up, "fail", json!({})).await.unwrap();
    assert_eq!(
        failed["isError"], true,
        "a tool error is a result, not a transport error"
    );
    up.close().await;
}

#[tokio::test]
async fn legacy_era_can_be_forced() {
    let options = Options {
        era: gateway_transport::EraPreference::Legacy,
        ..Options::default()
    };
    let up = connect(options, &stdio(ECHO, &["--stdio"], &[]));
    assert_eq!(
        up.ready().await.unwrap().protocol_version,
        ProtocolVersion::V2025_11_25
    );
    assert_eq!(
        text(
            &call_tool(&up, "echo", json!({"message": "hi"}))
                .await
                .unwrap()
        ),
        "hi"
    );
    up.close().await;
}

#[tokio::test]
async fn two_hundred_concurrent_calls_share_one_process() {
    let up = connect(Options::default(), &stdio(ECHO, &["--stdio"], &[]));
    up.ready().await.unwrap();
    let pids = up.process_ids();
    assert_eq!(pids.len(), 1);
    let calls = (0..200).map(|i| {
        let up = up.clone();
        async move {
            // The same client id on every call: the adapter must keep them apart.
            let (name, args) = if i % 2 == 0 {
                ("echo", json!({"message": format!("m{i}")}))
            } else {
                ("add", json!({"a": i, "b": 1000}))
            };
            let params = json!({"name": name, "arguments": args});
            let r = up
                .call(
                    request("same-id", "tools/call", Some(params)),
                    CallOptions::default(),
                )
                .await
                .unwrap();
            assert_eq!(r.id, Some("same-id".into()));
            (i, text(&result(&r)).to_owned())
        }
    });
    let results = futures_util::future::join_all(calls).await;
    for (i, got) in results {
        let want = if i % 2 == 0 {
            format!("m{i}")
        } else {
            (i + 1000).to_string()
        };
        assert_eq!(got, want, "call {i} got another call's result");
    }
    assert_eq!(up.process_ids(), pids, "still the same single process");
    assert_eq!(up.in_flight(), 0);
    up.close().await;
}

#[tokio::test]
async fn crash_fails_in_flight_calls_then_recovers_without_zombies() {
    let options = Options {
        restart_backoff: Duration::from_millis(50),
        ..Options::default()
    };
    let up = connect(options, &stdio(ECHO, &["--stdio"], &[]));
    up.ready().await.unwrap();
    let first_pid = up.process_ids()[0];
    let slow: Vec<_> = (0..5)
        .map(|_| {
            let up = up.clone();
            tokio::spawn(async move { call_tool(&up, "sleep_ms", json!({"ms": 5000})).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(up.in_flight(), 5);
    let crashed = call_tool(&up, "crash", json!({})).await.unwrap_err();
    assert!(crashed.to_string().contains("process exited"), "{crashed}");
    for call in slow {
        let e = call.await.unwrap().unwrap_err();
        assert!(
            !e.is_timeout() && e.to_string().contains("process exited"),
            "in-flight call: {e}"
        );
    }
    // The supervisor restarts the child; the next request succeeds on the new process.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let reply = loop {
        match call_tool(&up, "whoami", json!({})).await {
            Ok(r) => break r,
            Err(e) => {
                assert!(tokio::time::Instant::now() < deadline, "no recovery: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert!(!text(&reply).is_empty());
    let second_pid = up.process_ids()[0];
    assert_ne!(first_pid, second_pid);
    assert!(!process_alive(first_pid));
    up.close().await;
    assert!(!process_alive(second_pid), "close() must stop the child");
    assert_eq!(zombie_children(), Vec::<u32>::new(), "unreaped children");
}

#[tokio::test]
async fn timeouts_and_size_limits_give_clear_errors() {
    let options = Options {
        max_message_size: 2_000,
        ..Options::default()
    };
    let up = connect(options, &stdio(ECHO, &["--stdio"], &[]));
    up.ready().await.unwrap();
    let params = json!({"name": "sleep_ms", "arguments": {"ms": 2000}});
    let opts = CallOptions {
        timeout: Some(Duration::from_millis(100)),
        ..CallOptions::default()
    };
    let e = up
        .call(request(1, "tools/call", Some(params)), opts)
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    // A reply over the limit fails its own call (found by id) and nothing else.
    let e = call_tool(&up, "echo", json!({"message": "x".repeat(1_900)}))
        .await
        .unwrap_err();
    assert!(e.is_too_large(), "{e}");
    // A request over the limit is refused before it is sent.
    let e = call_tool(&up, "echo", json!({"message": "x".repeat(3_000)}))
        .await
        .unwrap_err();
    assert!(
        e.is_too_large() && e.to_string().contains("exceeds the limit"),
        "{e}"
    );
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

#[tokio::test]
async fn progress_notifications_reach_the_caller_with_its_token() {
    let up = connect(Options::default(), &stdio(ECHO, &["--stdio"], &[]));
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let params = json!({"name": "sleep_ms", "arguments": {"ms": 10}, "_meta": {"progressToken": "client-token"}});
    let r = up
        .call(
            request(5, "tools/call", Some(params)),
            CallOptions {
                progress: Some(tx),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(text(&result(&r)), "slept 10ms");
    let mut seen = Vec::new();
    while let Ok(n) = rx.try_recv() {
        let p: serde_json::Value = serde_json::from_str(n.params.unwrap().get()).unwrap();
        assert_eq!(p["progressToken"], "client-token");
        seen.push(p["progress"].as_f64().unwrap());
    }
    assert_eq!(seen, vec![1.0, 2.0]);
    up.close().await;
}

#[tokio::test]
async fn server_everything_stdio_keeps_every_field() {
    let Some(bin) = server_everything() else {
        return;
    };
    let bin = bin.to_str().unwrap();
    let up = connect(Options::default(), &stdio(bin, &["stdio"], &[]));
    let info = up.ready().await.unwrap();
    assert_eq!(
        info.protocol_version,
        ProtocolVersion::V2025_11_25,
        "server-everything is session-era"
    );
    let via_gateway = list_tools(&up).await.unwrap();
    let sum = call_tool(&up, "get-sum", json!({"a": 2, "b": 3}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "The sum of 2 and 3 is 5.");
    up.close().await;

    // The same conversation straight to the server, without the transport.
    let direct = direct_stdio(
        bin,
        &["stdio"],
        &[
            ("tools/list", json!({})),
            (
                "tools/call",
                json!({"name": "get-sum", "arguments": {"a": 2, "b": 3}}),
            ),
        ],
    )
    .await;
    assert_eq!(
        via_gateway, direct[0],
        "tools/list must arrive field for field"
    );
    assert_eq!(sum, direct[1], "tools/call must arrive field for field");
    assert!(
        via_gateway.to_string().contains("execution")
            || via_gateway["tools"].as_array().unwrap().len() >= 13
    );
}

#[tokio::test]
async fn child_environment_is_allowlisted() {
    let Some(bin) = server_everything() else {
        return;
    };
    let up = connect(
        Options::default(),
        &stdio(
            bin.to_str().unwrap(),
            &["stdio"],
            &[("INSTANCE_VAR", "from-spec")],
        ),
    );
    let env = call_tool(&up, "get-env", json!({})).await.unwrap();
    let text = text(&env);
    assert!(
        text.contains("INSTANCE_VAR") && text.contains("from-spec"),
        "instance env missing"
    );
    assert!(text.contains("\"PATH\""), "allowlisted PATH missing");
    // Cargo sets these for the test process; the child must not inherit them.
    assert!(
        !text.contains("CARGO_PKG_NAME") && !text.contains("CARGO_MANIFEST_DIR"),
        "gateway env leaked: {text}"
    );
    up.close().await;
}

#[tokio::test]
async fn server_filesystem_reads_a_file() {
    let Some(bin) = server_filesystem() else {
        return;
    };
    let root = fs_root();
    let up = connect(
        Options::default(),
        &stdio(bin.to_str().unwrap(), &[root.to_str().unwrap()], &[]),
    );
    let tools = tool_names(&list_tools(&up).await.unwrap());
    assert!(tools.contains(&"read_text_file".to_owned()), "{tools:?}");
    let path = root.join("hello.txt");
    let read = call_tool(&up, "read_text_file", json!({"path": path}))
        .await
        .unwrap();
    assert_eq!(text(&read).trim(), "hello");
    up.close().await;
}

#[tokio::test]
async fn mcp_server_time_speaks_the_modern_era() {
    let Some(bin) = server_time() else { return };
    let up = connect(
        Options::default(),
        &stdio(bin.to_str().unwrap(), &["--local-timezone", "UTC"], &[]),
    );
    let info = up.ready().await.unwrap();
    assert_eq!(info.protocol_version, ProtocolVersion::V2026_07_28);
    let tools = tool_names(&list_tools(&up).await.unwrap());
    assert!(tools.contains(&"get_current_time".to_owned()), "{tools:?}");
    let now = call_tool(&up, "get_current_time", json!({"timezone": "UTC"}))
        .await
        .unwrap();
    assert_eq!(now["isError"], false);
    assert_eq!(now["structuredContent"]["timezone"], "UTC", "{now}");
    up.close().await;
}

/// Talks to a stdio server directly (initialize, initialized, then each request) and
/// returns the results.
async fn direct_stdio(
    bin: &str,
    args: &[&str],
    requests: &[(&str, serde_json::Value)],
) -> Vec<serde_json::Value> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut child = tokio::process::Command::new(bin)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"direct","version":"0"}}});
    stdin
        .write_all(format!("{init}\n").as_bytes())
        .await
        .unwrap();
    let mut results = Vec::new();
    let mut next = 0;
    while let Some(line) = lines.next_line().await.unwrap() {
        let msg: serde_json::Value = serde_json::from_str(&line).unwrap();
        let Some(id) = msg.get("id").and_then(|i| i.as_i64()) else {
            continue;
        };
        if id == 0 {
            stdin
                .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
                .await
                .unwrap();
        } else {
            results.push(msg["result"].clone());
        }
        if next == requests.len() {
            break;
        }
        let (method, params) = &requests[next];
        next += 1;
        let req = json!({"jsonrpc":"2.0","id":next,"method":method,"params":params});
        stdin
            .write_all(format!("{req}\n").as_bytes())
            .await
            .unwrap();
    }
    child.kill().await.unwrap();
    results
}

#[tokio::test]
async fn a_pool_of_processes_shares_the_load() {
    let options = Options {
        stdio_processes: std::num::NonZeroUsize::new(2).unwrap(),
        ..Options::default()
    };
    let up = connect(options, &stdio(ECHO, &["--stdio"], &[]));
    up.ready().await.unwrap();
    // Wait for both children to finish their handshake.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while up.process_ids().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "second process never came up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut pids: Vec<String> = up
        .process_ids()
        .iter()
        .map(|p| format!("echo-{p}"))
        .collect();
    pids.sort();
    // While one process is busy, least-in-flight routing sends calls to the other, so
    // concurrent calls spread over both.
    let calls = (0..20).map(|_| {
        let up = up.clone();
        async move {
            call_tool(&up, "sleep_ms", json!({"ms": 50})).await.unwrap();
            text(&call_tool(&up, "whoami", json!({})).await.unwrap()).to_owned()
        }
    });
    let mut seen: Vec<String> = futures_util::future::join_all(calls).await;
    seen.sort();
    seen.dedup();
    assert_eq!(seen, pids, "both processes should have served calls");
    up.close().await;
    assert_eq!(zombie_children(), Vec::<u32>::new());
}

#[tokio::test]
async fn server_initiated_notifications_reach_subscribers() {
    let Some(bin) = server_everything() else {
        return;
    };
    let up = connect(
        Options::default(),
        &stdio(bin.to_str().unwrap(), &["stdio"], &[]),
    );
    let mut messages = up.subscribe();
    up.ready().await.unwrap();
    call_tool(&up, "toggle-simulated-logging", json!({}))
        .await
        .unwrap();
    let deadline = Duration::from_secs(15);
    let got = tokio::time::timeout(deadline, async {
        loop {
            if let gateway_transport::ServerMessage::Notification(n) =
                messages.recv().await.unwrap()
                && n.method == "notifications/message"
            {
                return n;
            }
        }
    })
    .await
    .expect("no notifications/message from server-everything");
    assert!(got.params.unwrap().get().contains("level"));
    up.close().await;
}

/// The shutdown ladder against `tests/python/stubborn_stdio.py`, a child that completes
/// the handshake and then ignores stdin EOF (and, with `ignore_sigterm`, SIGTERM too).
/// Returns the child's marker lines and how long `close()` took.
async fn stubborn_child_close(ignore_sigterm: bool, grace: Duration) -> (Vec<String>, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let script = repo_root().join("tests/python/stubborn_stdio.py");
    let mut args = vec![script.to_str().unwrap(), marker.to_str().unwrap()];
    if ignore_sigterm {
        args.push("--ignore-sigterm");
    }
    let options = Options {
        stdio_shutdown_grace: grace,
        ..Options::default()
    };
    let up = connect(options, &stdio("python3", &args, &[]));
    up.ready().await.unwrap();
    assert!(list_tools(&up).await.unwrap()["tools"].is_array());
    let pids = up.process_ids();
    assert_eq!(pids.len(), 1);
    let pid = pids[0];
    assert!(process_alive(pid));

    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), up.close())
        .await
        .expect("close() must finish: the ladder ends in SIGKILL");
    let took = started.elapsed();
    // Reaped, not only dead: a zombie keeps its /proc entry (state Z).
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "child {pid} still has a /proc entry after close(): {:?}",
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
    );
    assert_eq!(zombie_children(), Vec::<u32>::new(), "unreaped children");
    let marks = std::fs::read_to_string(&marker)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (marks, took)
}

#[tokio::test]
async fn close_sends_sigterm_to_a_child_that_ignores_stdin_eof() {
    let grace = Duration::from_millis(400);
    let (marks, took) = stubborn_child_close(false, grace).await;
    assert_eq!(
        marks,
        ["started", "eof", "term"],
        "stdin closed first, then SIGTERM"
    );
    assert!(took >= grace, "SIGTERM only after the grace: {took:?}");
    assert!(
        took < 2 * grace + Duration::from_secs(2),
        "bounded by the grace times ({took:?})"
    );
}

#[tokio::test]
async fn close_sends_sigkill_to_a_child_that_ignores_sigterm() {
    let grace = Duration::from_millis(400);
    let (marks, took) = stubborn_child_close(true, grace).await;
    assert_eq!(
        marks,
        ["started", "eof", "term-ignored"],
        "stdin closed, then SIGTERM (ignored), then SIGKILL"
    );
    assert!(
        took >= 2 * grace,
        "SIGKILL only after two grace periods: {took:?}"
    );
    assert!(
        took < 2 * grace + Duration::from_secs(3),
        "bounded by the grace times: {took:?}"
    );
}

#[tokio::test]
async fn notify_over_stdio_keeps_the_child_serving() {
    let up = connect(
        Options::default(),
        &stdio(ECHO, &["--stdio", "--instance-id", "n1"], &[]),
    );
    up.ready().await.unwrap();
    let pids = up.process_ids();
    for method in [
        "notifications/roots/list_changed",
        "notifications/x-gateway-test",
    ] {
        let n = gateway_core::jsonrpc::Notification {
            method: method.to_owned(),
            params: Some(gateway_core::jsonrpc::to_raw(&json!({"n": 1}))),
        };
        up.notify(n).await.unwrap();
    }
    // The child read the notifications as messages (no reply, no crash): the same process
    // answers the next call.
    assert_eq!(
        text(
            &call_tool(&up, "echo", json!({"message": "after"}))
                .await
                .unwrap()
        ),
        "after"
    );
    assert_eq!(up.process_ids(), pids, "the child must not have restarted");
    up.close().await;
}

#[tokio::test]
async fn server_everything_stdio_handles_roots_list_changed() {
    let Some(bin) = server_everything() else {
        return;
    };
    let options = Options {
        client_capabilities: roots_capabilities(),
        ..Options::default()
    };
    let up = connect(options, &stdio(bin.to_str().unwrap(), &["stdio"], &[]));
    roots_list_changed_reaches_server_everything(&up).await;
    up.close().await;
}
