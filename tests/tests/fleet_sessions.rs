//! Sessions on any replica (issue 14, item 2): gateway replicas on one PostgreSQL (a
//! fresh schema per test). A dedicated session's upstream (here: its own stdio process,
//! whose pid `whoami` reports) and an HTTP+SSE connection's stream live on one replica;
//! a request for them that lands on another replica is forwarded there, signed with the
//! fleet's secret, and answered from there. A forged, stale or misdirected forwarding
//! header is refused (403); a session whose replica is gone is the 404 of an unknown
//! session, and the official Python client, told so, starts a new session and goes on.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    process::Stdio,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use gateway_e2e::{
    auth::{AuthGateway, Cred},
    fleet::{Haproxy, SharedDb, admin_token, replica},
    http::Reply,
    mcp::{McpHttp, messages, sse_messages},
    repo_root, venv_python, wait_until,
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// The fleet's forwarding secret (the tests sign headers with it, as a replica would).
const FLEET_SECRET: &str = "fleet-secret-for-the-e2e-tests-0123456789";

async fn two_replicas(db: &SharedDb) -> (AuthGateway, AuthGateway) {
    let envs = [("MCP_GATEWAY_FLEET_SECRET", FLEET_SECRET)];
    tokio::join!(
        replica(GATEWAY, db, "replica-a", &envs),
        replica(GATEWAY, db, "replica-b", &envs)
    )
}

/// Registers a stdio echo template in `dedicated` mode on `a` and waits until `b` has it
/// too (the change feed).
async fn dedicated_template(a: &AuthGateway, b: &AuthGateway, token: &str, template: &str) {
    stdio_template(a, token, template).await;
    let ca = a.client();
    ca.send(
        "PUT",
        &format!("/gateway/templates/{template}/load-balancer"),
        Cred::Bearer(token),
        Some(&json!({"session_mode": "dedicated", "max_sessions": 50})),
    )
    .await
    .expect_status(200);
    let cb = b.client();
    let path = format!("/gateway/templates/{template}/load-balancer");
    wait_until(
        "the dedicated template on B",
        Duration::from_secs(5),
        || async { cb.get(&path, Cred::Bearer(token)).await.json()["session_mode"] == "dedicated" },
    )
    .await;
}

/// Registers a stdio echo template (shared mode) on `a`.
async fn stdio_template(a: &AuthGateway, token: &str, template: &str) {
    let ca = a.client();
    ca.post(
        "/gateway/register",
        Cred::Bearer(token),
        &json!({"template_name": template, "id": format!("{template}-1"),
                "command": format!("{ECHO} --stdio")}),
    )
    .await
    .expect_status(201);
}

/// `/gateway/stats` → `replica.forwarded` and `total_requests` of one replica.
async fn forwarding(gw: &AuthGateway, token: &str) -> (Value, u64) {
    let stats = gw
        .client()
        .get("/gateway/stats", Cred::Bearer(token))
        .await
        .json();
    (
        stats["replica"]["forwarded"].clone(),
        stats["total_requests"].as_u64().unwrap(),
    )
}

/// The `X-Gateway-Forwarded` value a replica named `replica` would send at `at`.
fn forward_header(method: &str, path: &str, session: &str, replica: &str, at: u64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(FLEET_SECRET.as_bytes()).unwrap();
    mac.update(format!("v1\n{method}\n{path}\n{session}\n{at}\n{replica}").as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("v1 {at} {replica} {tag}")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn pid_of(response: &Value) -> u64 {
    response["result"]["structuredContent"]["pid"]
        .as_u64()
        .unwrap_or_else(|| panic!("no pid in {response}"))
}

/// `whoami` in the session of `client`, on whichever replica its URL points at.
async fn whoami(client: &mut McpHttp) -> Reply {
    client
        .request_reply("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedicated_session_is_served_by_its_replica_from_any_replica() {
    let Some(db) = SharedDb::postgres().await else {
        return;
    };
    let (a, b) = two_replicas(&db).await;
    let token = admin_token(&a.base_url()).await;
    dedicated_template(&a, &b, &token, "ded").await;
    let bearer = format!("Bearer {token}");
    let on = |gw: &AuthGateway| {
        McpHttp::new(format!("{}/mcp/ded", gw.base_url())).with_header("authorization", &bearer)
    };

    // Opened on A: its upstream process runs on A.
    let mut via_a = on(&a);
    via_a.initialize("2025-11-25").await;
    let session = via_a.session.clone().unwrap();
    let pid = pid_of(&messages(&whoami(&mut via_a).await).pop().unwrap());
    let (_, a_before) = forwarding(&a, &token).await;
    let (_, b_before) = forwarding(&b, &token).await;

    // Used through B: forwarded to A, answered by the same process (its SSE answer
    // streams back through B).
    let mut via_b = on(&b);
    via_b.session = Some(session.clone());
    for _ in 0..3 {
        let r = whoami(&mut via_b).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(pid_of(&messages(&r).pop().unwrap()), pid, "{}", r.text);
    }
    let r = via_b
        .request(
            "tools/call",
            json!({"name": "echo", "arguments": {"message": "hi"}}),
        )
        .await;
    assert_eq!(r["result"]["content"][0]["text"], "hi", "{r}");
    let (a_fwd, a_after) = forwarding(&a, &token).await;
    let (b_fwd, b_after) = forwarding(&b, &token).await;
    assert_eq!(a_after - a_before, 4, "A relayed every call of its session");
    assert_eq!(b_after, b_before, "B relayed none of them");
    assert_eq!(b_fwd["sent"], 4, "{b_fwd}");
    assert_eq!(a_fwd["received"], 4, "{a_fwd}");

    // The session's GET stream, asked of B, streams from A.
    let get = via_b
        .raw(reqwest::Method::GET)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    assert!(
        get.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    drop(get);

    // Without the client's credentials the request never leaves B; with another
    // principal's it reaches A, which refuses it as usual (404: not its session).
    let mut anonymous = McpHttp::new(format!("{}/mcp/ded", b.base_url()));
    anonymous.session = Some(session.clone());
    assert_eq!(whoami(&mut anonymous).await.status, 401);

    // DELETE through B closes the session on A, for every replica.
    let r = via_b.send(via_b.raw(reqwest::Method::DELETE)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for client in [&mut via_a, &mut via_b] {
        let r = whoami(client).await;
        assert_eq!(r.status, 404, "{}", r.text);
        assert_eq!(r.json()["error"]["code"], -32001, "{}", r.text);
    }

    // A session whose replica is killed: 404 from the survivor, so the client starts
    // again; its new session lives on the survivor.
    let mut doomed = on(&a);
    doomed.initialize("2025-11-25").await;
    let doomed_session = doomed.session.clone().unwrap();
    a.kill().await;
    let mut orphan = on(&b);
    orphan.session = Some(doomed_session);
    let r = whoami(&mut orphan).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.json()["error"]["code"], -32001, "{}", r.text);
    assert!(r.text.contains("unreachable"), "{}", r.text);
    orphan.initialize("2025-11-25").await;
    let r = whoami(&mut orphan).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (b_fwd, _) = forwarding(&b, &token).await;
    assert_eq!(b_fwd["owner_gone"], 1, "{b_fwd}");

    b.stop().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_that_do_not_verify_are_refused() {
    let Some(db) = SharedDb::postgres().await else {
        return;
    };
    let (a, b) = two_replicas(&db).await;
    let token = admin_token(&a.base_url()).await;
    dedicated_template(&a, &b, &token, "ded").await;
    let bearer = format!("Bearer {token}");
    let mut owner =
        McpHttp::new(format!("{}/mcp/ded", a.base_url())).with_header("authorization", &bearer);
    owner.initialize("2025-11-25").await;
    let session = owner.session.clone().unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                      "params": {"name": "echo", "arguments": {"message": "x"}}});
    let path = "/mcp/ded";
    let t = now();
    let genuine = forward_header("POST", path, &session, "replica-b", t);
    let mut forged = genuine.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    let cases = [
        ("forged MAC", forged),
        ("empty", String::new()),
        ("garbage", "hello".to_owned()),
        ("another secret", {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(b"some-other-secret-0123456789abcdef").unwrap();
            mac.update(format!("v1\nPOST\n{path}\n{session}\n{t}\nreplica-b").as_bytes());
            format!(
                "v1 {t} replica-b {}",
                URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
            )
        }),
        (
            "40 s old",
            forward_header("POST", path, &session, "replica-b", t - 40),
        ),
        (
            "40 s ahead",
            forward_header("POST", path, &session, "replica-b", t + 40),
        ),
        (
            "another session",
            forward_header("POST", path, "some-other-session", "replica-b", t),
        ),
        (
            "another method",
            forward_header("DELETE", path, &session, "replica-b", t),
        ),
        (
            "another path",
            forward_header("POST", "/mcp/other", &session, "replica-b", t),
        ),
    ];
    for (what, header) in &cases {
        let r = owner
            .post(&call, &[("x-gateway-forwarded", header.as_str())])
            .await;
        assert_eq!(r.status, 403, "{what}: {}", r.text);
        assert_eq!(r.json()["error"], "forward_refused", "{what}: {}", r.text);
    }
    // Refused before authentication: no credential needed to be told no.
    let r = McpHttp::new(format!("{}/mcp/ded", a.base_url()))
        .post(&call, &[("x-gateway-forwarded", "v1 1 x AAAA")])
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // The genuine header is accepted (the refusals above are about the header).
    let r = owner
        .post(&call, &[("x-gateway-forwarded", genuine.as_str())])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (a_fwd, _) = forwarding(&a, &token).await;
    assert_eq!(a_fwd["refused"], cases.len() + 1, "{a_fwd}");
    assert_eq!(a_fwd["received"], 1, "{a_fwd}");
    // One hop only: B, handed a genuine forwarded request for A's session, answers 404
    // rather than pass it on.
    let r = McpHttp::new(format!("{}/mcp/ded", b.base_url()))
        .with_header("authorization", &bearer)
        .post(
            &call,
            &[
                ("mcp-session-id", session.as_str()),
                ("x-gateway-forwarded", genuine.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let (b_fwd, _) = forwarding(&b, &token).await;
    assert_eq!(b_fwd["sent"], 0, "{b_fwd}");

    a.stop().await;
    b.stop().await;
    db.drop().await;
}

/// Reads SSE events from a streaming response until `want` messages arrived.
async fn read_events(
    response: &mut reqwest::Response,
    buffer: &mut String,
    want: usize,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let complete = buffer.rfind("\n\n").map_or(0, |i| i + 2);
        let events: Vec<Value> = sse_messages(&buffer[..complete])
            .into_iter()
            .filter(|v| v.is_object())
            .collect();
        if events.len() >= want {
            buffer.drain(..complete);
            return events;
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("SSE events in time")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_sse_message_posted_to_another_replica_reaches_the_stream() {
    let Some(db) = SharedDb::postgres().await else {
        return;
    };
    let (a, b) = two_replicas(&db).await;
    let token = admin_token(&a.base_url()).await;
    stdio_template(&a, &token, "old").await;
    let cb = b.client();
    wait_until("the template on B", Duration::from_secs(5), || async {
        cb.get("/gateway/templates/old/load-balancer", Cred::Bearer(&token))
            .await
            .status
            == 200
    })
    .await;
    gateway_e2e::install_crypto_provider();
    let http = reqwest::Client::new();
    let bearer = format!("Bearer {token}");

    // The stream on A.
    let mut stream = http
        .get(format!("{}/mcp/old/sse", a.base_url()))
        .header("authorization", &bearer)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut buffer = String::new();
    let endpoint = loop {
        let chunk = stream.chunk().await.unwrap().unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(line) = buffer.lines().find_map(|l| {
            l.strip_prefix("data: ")
                .filter(|d| d.contains("session_id="))
        }) {
            let endpoint = line.trim().to_owned();
            let end = buffer.find("\n\n").unwrap() + 2;
            buffer.drain(..end);
            break endpoint;
        }
    };
    assert!(
        endpoint.starts_with("/mcp/old/messages?session_id="),
        "{endpoint}"
    );

    // Messages POSTed to B: 202 there, answers on A's stream.
    let post_b = |body: Value| {
        http.post(format!("{}{endpoint}", b.base_url()))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "0"}}});
    assert_eq!(post_b(init).await.unwrap().status(), 202);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "echo", "arguments": {"message": "via B"}}});
    assert_eq!(post_b(call).await.unwrap().status(), 202);
    let events = read_events(&mut stream, &mut buffer, 2).await;
    assert_eq!(events[0]["id"], 1, "{events:?}");
    assert_eq!(
        events[1]["result"]["content"][0]["text"], "via B",
        "{events:?}"
    );
    let (b_fwd, _) = forwarding(&b, &token).await;
    assert_eq!(b_fwd["sent"], 2, "{b_fwd}");

    // An id B cannot read is an unknown connection there, as before.
    let r = http
        .post(format!("{}/mcp/old/messages?session_id=nope", b.base_url()))
        .header("authorization", &bearer)
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // A forged forwarding header on a message to A is refused.
    let session = endpoint.split("session_id=").nth(1).unwrap();
    let stale = forward_header(
        "POST",
        "/mcp/old/messages",
        session,
        "replica-b",
        now() - 60,
    );
    let r = http
        .post(format!("{}{endpoint}", a.base_url()))
        .header("authorization", &bearer)
        .header("content-type", "application/json")
        .header("x-gateway-forwarded", stale)
        .body(json!({"jsonrpc": "2.0", "id": 4, "method": "ping"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The stream's replica is killed: B answers 404 (the client opens a new stream).
    drop(stream);
    a.kill().await;
    let r = post_b(json!({"jsonrpc": "2.0", "id": 5, "method": "ping"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32001, "{body}");

    b.stop().await;
    db.drop().await;
}

type ScriptLines = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// The script's next stdout line (within a minute).
async fn next_line(lines: &mut ScriptLines) -> Option<String> {
    tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the script answers in time")
        .unwrap()
}

/// The official Python client in dedicated mode through HAProxy alternating the replicas
/// on every request: every call of its session is answered by the session's own process
/// (one pid), although half of them land on the other replica; once that replica is
/// killed, the next call is "session not found", and a new session works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_dedicated_session_through_the_load_balancer_and_its_replica_killed() {
    let Some(python) = venv_python() else { return };
    let Some(db) = SharedDb::postgres().await else {
        return;
    };
    let (a, b) = two_replicas(&db).await;
    let Some(lb) = Haproxy::start(&[("a", a.addr.port()), ("b", b.addr.port())]).await else {
        return;
    };
    let token = admin_token(&a.base_url()).await;
    dedicated_template(&a, &b, &token, "ded").await;
    let (a_fwd0, a_req0) = forwarding(&a, &token).await;
    let (b_fwd0, b_req0) = forwarding(&b, &token).await;
    assert_eq!(
        (a_fwd0["sent"].as_u64(), b_fwd0["sent"].as_u64()),
        (Some(0), Some(0))
    );

    let script = repo_root().join("tests/python/fleet_recover.py");
    let mut child = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(format!("{}/mcp/ded", lb.url()))
        .arg(&token)
        .arg("6")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let Some(first) = next_line(&mut lines).await else {
        let out = child.wait_with_output().await.unwrap();
        panic!("script failed: {}", String::from_utf8_lossy(&out.stderr));
    };
    let first: Value = serde_json::from_str(&first).unwrap();
    let pids: Vec<u64> = serde_json::from_value(first["pids"].clone()).unwrap();
    assert_eq!(pids.len(), 6);
    assert!(
        pids.iter().all(|p| *p == pids[0]),
        "one upstream process: {pids:?}"
    );

    // The session's replica relayed every call; the other forwarded what it received.
    let (a_fwd, a_req) = forwarding(&a, &token).await;
    let (b_fwd, b_req) = forwarding(&b, &token).await;
    let (owner, other_fwd) = if a_req > a_req0 {
        assert_eq!(b_req, b_req0, "only the owner relays the session's calls");
        ("a", b_fwd)
    } else {
        assert!(b_req > b_req0 && a_req == a_req0);
        ("b", a_fwd)
    };
    assert!(
        other_fwd["sent"].as_u64().unwrap() >= 3,
        "the other replica forwarded its share of the calls: {other_fwd}"
    );

    // Kill the session's replica; the client carries on.
    let survivor = if owner == "a" {
        a.kill().await;
        b
    } else {
        b.kill().await;
        a
    };
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go\n").await.unwrap();
    stdin.flush().await.unwrap();
    let Some(after) = next_line(&mut lines).await else {
        let out = child.wait_with_output().await.unwrap();
        panic!("script failed: {}", String::from_utf8_lossy(&out.stderr));
    };
    let after: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(after["error"]["code"], -32001, "{after}");
    let new_pids: Vec<u64> = serde_json::from_value(after["pids"].clone()).unwrap();
    assert_eq!(new_pids.len(), 6, "{after}");
    assert!(new_pids.iter().all(|p| *p == new_pids[0]), "{after}");
    assert_ne!(new_pids[0], pids[0], "a new session, a new process");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());

    lb.stop().await;
    survivor.stop().await;
    db.drop().await;
}
