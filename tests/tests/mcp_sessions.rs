//! Upstream session modes through the native MCP endpoint, with real stdio children:
//! `shared` templates multiplex every client over their pool; `dedicated` templates give
//! each client session its own process, capped by `max_sessions` and reaped when idle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashSet, time::Duration};

use gateway_e2e::{TestGateway, mcp::McpHttp, wait_until};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

async fn register_stdio(gw: &TestGateway, template: &str, id: &str) {
    gw.register(json!({
        "template_name": template, "id": id,
        "command": format!("{ECHO} --stdio --instance-id {id}"),
    }))
    .await;
}

async fn set(gw: &TestGateway, template: &str, settings: Value) -> Value {
    gw.http()
        .put(
            &format!("/gateway/templates/{template}/load-balancer"),
            &settings,
        )
        .await
        .expect_status(200)
}

/// Opens a session on `template` and returns the pid its `whoami` reports.
async fn session_pid(gw: &TestGateway, template: &str) -> (McpHttp, u64) {
    let mut client = McpHttp::new(format!("{}/mcp/{template}", gw.base_url()));
    client.initialize("2025-11-25").await;
    let r = client
        .request("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await;
    let pid = r["result"]["structuredContent"]["pid"]
        .as_u64()
        .unwrap_or_else(|| panic!("no pid in {r}"));
    (client, pid)
}

fn alive(pid: u64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_stdio_template_serves_a_hundred_clients_with_its_pool() {
    let gw = TestGateway::start(GATEWAY).await;
    register_stdio(&gw, "pool", "p1").await;
    let lb = set(&gw, "pool", json!({"pool_size": 2})).await;
    assert_eq!(lb["session_mode"], "shared", "the default: {lb}");
    gw.wait_healthy("pool", 1).await;
    // The new pool of two replaces the first process.
    wait_until("a pool of two", Duration::from_secs(10), || async {
        gw.children().len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let base = McpHttp::new(format!("{}/mcp/pool", gw.base_url()));
    let clients = (0..100)
        .map(|_| {
            let mut client = base.sharing(format!("{}/mcp/pool", gw.base_url()));
            tokio::spawn(async move {
                client.initialize("2025-11-25").await;
                // All hundred are in flight at once, multiplexed over the pool.
                let r = client
                    .request(
                        "tools/call",
                        json!({"name": "sleep_ms", "arguments": {"ms": 200}}),
                    )
                    .await;
                assert_eq!(r["result"]["content"][0]["text"], "slept 200ms", "{r}");
                let r = client
                    .request("tools/call", json!({"name": "whoami", "arguments": {}}))
                    .await;
                r["result"]["structuredContent"]["pid"].as_u64().unwrap()
            })
        })
        .collect::<Vec<_>>();
    let mut pids = HashSet::new();
    for c in clients {
        pids.insert(c.await.unwrap());
    }
    let children: HashSet<u64> = gw.children().into_iter().map(u64::from).collect();
    assert_eq!(children.len(), 2, "the pool, and no process per client");
    assert_eq!(pids, children, "both pooled processes served the clients");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedicated_stdio_template_gives_each_session_its_own_process() {
    let gw = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_SESSION_IDLE_TIMEOUT", "2")
        .start()
        .await;
    register_stdio(&gw, "solo", "s1").await;
    let lb = set(
        &gw,
        "solo",
        json!({"session_mode": "dedicated", "max_sessions": 2}),
    )
    .await;
    assert_eq!(
        (lb["session_mode"].as_str(), lb["max_sessions"].as_u64()),
        (Some("dedicated"), Some(2))
    );
    gw.wait_healthy("solo", 1).await;
    let shared_children: HashSet<u32> = gw.children().into_iter().collect();

    let (mut first, pid_a) = session_pid(&gw, "solo").await;
    let (second, pid_b) = session_pid(&gw, "solo").await;
    assert_ne!(pid_a, pid_b, "each session has its own process");
    for pid in [pid_a, pid_b] {
        assert!(
            !shared_children.contains(&(pid as u32)),
            "not the pooled process"
        );
    }
    // The same session keeps its process.
    let r = first
        .request("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await;
    assert_eq!(r["result"]["structuredContent"]["pid"], pid_a);

    // max_sessions: a third session is refused with a clear error, not a hang.
    let third = McpHttp::new(format!("{}/mcp/solo", gw.base_url()));
    let r = third
        .post(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "e2e", "version": "0"}}}),
            &[],
        )
        .await;
    let body = r.json();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("dedicated sessions")),
        "{body}"
    );

    // DELETE ends a session and its process at once.
    let r = second.send(second.raw(reqwest::Method::DELETE)).await;
    assert_eq!(r.status, 200);
    wait_until(
        "the deleted session's process exits",
        Duration::from_secs(10),
        || async { !alive(pid_b) },
    )
    .await;
    let (_third, pid_c) = session_pid(&gw, "solo").await;
    assert!(pid_c != pid_a && pid_c != pid_b);

    // Idle sessions are reaped (timeout 2 s here) and their processes stop.
    wait_until("idle processes reaped", Duration::from_secs(15), || async {
        !alive(pid_a) && !alive(pid_c)
    })
    .await;
    // The pooled process was never touched.
    for pid in shared_children {
        assert!(alive(u64::from(pid)), "pooled process {pid} still runs");
    }
    // A reaped session comes back from its sealed id with a fresh process.
    let r = first
        .request("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await;
    let pid_d = r["result"]["structuredContent"]["pid"].as_u64().unwrap();
    assert!(alive(pid_d) && pid_d != pid_a, "{r}");
}
