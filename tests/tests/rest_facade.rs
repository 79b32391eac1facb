//! The guide's REST facade and management API, driven over real HTTP against the real
//! gateway binary with real upstreams: the echo fixture over HTTP (two instances) and
//! stdio, server-everything and mcp-server-time over stdio.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_e2e::*;
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");
const PAGED: &str = env!("CARGO_BIN_EXE_paged-fixture");
const ECHO_TOOLS: [&str; 6] = ["echo", "add", "sleep_ms", "fail", "crash", "whoami"];

fn names(list: &Value, key: &str, field: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not an array in {list}"))
        .iter()
        .map(|t| t[field].as_str().unwrap().to_owned())
        .collect()
}

/// A gateway with template `echo` = two HTTP echo instances (`echo-a`, `echo-b`).
async fn gateway_with_http_echo() -> (TestGateway, EchoHttp, EchoHttp) {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let a = EchoHttp::spawn(ECHO, 0, "echo-a").await;
    let b = EchoHttp::spawn(ECHO, 0, "echo-b").await;
    for (id, echo) in [("echo-a", &a), ("echo-b", &b)] {
        gw.register(json!({"template_name": "echo", "instance_id": id, "endpoint": echo.url()}))
            .await;
    }
    gw.wait_healthy("echo", 2).await;
    (gw, a, b)
}

#[tokio::test]
async fn register_returns_the_instance_for_http_and_stdio() {
    let gw = TestGateway::start(GATEWAY).await;
    let echo = EchoHttp::spawn(ECHO, 0, "e1").await;
    let http = gw
        .register(json!({
            "template_name": "echo", "instance_id": "e1", "endpoint": echo.url(),
            "weight": 5, "metadata": {"zone": "a"},
        }))
        .await;
    assert_eq!(http["id"], "e1");
    assert_eq!(http["template_name"], "echo");
    assert_eq!(http["transport"], "http");
    assert_eq!(http["endpoint"], echo.url());
    assert_eq!(http["weight"], 5);
    assert_eq!(http["metadata"], json!({"zone": "a"}));
    assert!(http["status"].is_string(), "{http}");
    assert!(
        http["created_at"].as_str().unwrap().ends_with('Z'),
        "{http}"
    );

    // The predecessor's field names (`id`, `env_vars`) and a command split like a shell.
    let work = TempDb::new();
    let stdio = gw
        .register(json!({
            "template_name": "echo-stdio", "id": "s1",
            "command": format!("{ECHO} --stdio --instance-id s1"),
            "working_dir": work.dir(), "env_vars": {"SECRET_TOKEN": "hunter2"},
        }))
        .await;
    assert_eq!(stdio["id"], "s1");
    assert_eq!(stdio["transport"], "stdio");
    assert_eq!(
        stdio["command"],
        json!([ECHO, "--stdio", "--instance-id", "s1"])
    );
    assert_eq!(stdio["working_dir"], work.dir().display().to_string());
    assert_eq!(
        stdio["env_vars"],
        json!({"SECRET_TOKEN": "<redacted>"}),
        "secrets are never echoed back"
    );
    assert!(!stdio.to_string().contains("hunter2"));
    // Without an id the gateway generates one.
    let generated = gw
        .register(json!({"template_name": "echo", "endpoint": echo.url()}))
        .await;
    assert!(
        generated["id"].as_str().unwrap().starts_with("echo-"),
        "{generated}"
    );
    // The stdio instance answers through the gateway, with its own identity.
    gw.wait_healthy("echo-stdio", 1).await;
    assert_eq!(gw.whoami("echo-stdio").await, "s1");
}

#[tokio::test]
async fn tools_list_returns_upstream_tools_verbatim_with_count() {
    let (gw, _a, _b) = gateway_with_http_echo().await;
    let list = gw
        .http()
        .get("/mcp/echo/tools/list")
        .await
        .expect_status(200);
    assert_eq!(list["count"], 6, "{list}");
    let tools = names(&list, "tools", "name");
    for t in ECHO_TOOLS {
        assert!(tools.contains(&t.to_owned()), "{t} missing from {tools:?}");
    }
    let add = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "add")
        .unwrap();
    assert_eq!(
        add,
        &json!({
            "name": "add",
            "description": "Adds two integers.",
            "inputSchema": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
            "outputSchema": {
                "type": "object",
                "properties": {"result": {"type": "integer"}},
                "required": ["result"],
            },
        }),
        "tool objects are forwarded verbatim (outputSchema included)"
    );
}

#[tokio::test]
async fn a_template_without_resources_or_prompts_lists_none_and_reading_stays_an_error() {
    // The echo upstream answers resources/* and prompts/* with method-not-found; the
    // predecessor's clients expect 200 and an empty list from the list routes.
    let (gw, _a, _b) = gateway_with_http_echo().await;
    for (path, key) in [
        ("/mcp/echo/resources/list", "resources"),
        ("/mcp/echo/resources/templates/list", "resourceTemplates"),
        ("/mcp/echo/prompts/list", "prompts"),
    ] {
        let body = gw.http().get(path).await.expect_status(200);
        assert_eq!(body, json!({key: [], "count": 0}), "{path}");
    }
    gw.http()
        .post("/mcp/echo/resources/read", &json!({"uri": "x://y"}))
        .await
        .expect_error(404, "method_not_found");
    gw.http()
        .post("/mcp/echo/prompts/get", &json!({"name": "p"}))
        .await
        .expect_error(404, "method_not_found");
    // Other upstream errors of a list are not hidden: an unknown template is still 404.
    gw.http()
        .get("/mcp/nope/prompts/list")
        .await
        .expect_error(404, "template_not_found");
}

#[tokio::test]
async fn tools_call_returns_the_call_tool_result_verbatim() {
    let (gw, a, _b) = gateway_with_http_echo().await;
    let sum = gw.call_tool("echo", "add", json!({"a": 2, "b": 40})).await;
    assert_eq!(sum["content"], json!([{"type": "text", "text": "42"}]));
    assert_eq!(sum["isError"], false);
    assert_eq!(sum["structuredContent"], json!({"result": 42}));
    // Exactly what the upstream returns to a direct client (`_meta` and all).
    let direct = rpc::direct_http(&a.url());
    let want = rpc::call_tool(&direct, "add", json!({"a": 2, "b": 40}))
        .await
        .unwrap();
    assert_eq!(sum, want, "the CallToolResult is forwarded verbatim");
    direct.close().await;

    let echoed = gw
        .call_tool("echo", "echo", json!({"message": "héllo ✓"}))
        .await;
    assert_eq!(echoed["content"][0]["text"], "héllo ✓");
    // A tool error is a result: HTTP 200 with isError.
    let failed = gw
        .call_tool("echo", "fail", json!({"message": "boom"}))
        .await;
    assert_eq!(failed["isError"], true, "{failed}");
    assert_eq!(failed["content"][0]["text"], "boom");
    // Missing `arguments` is an empty object.
    let reply = gw
        .http()
        .post("/mcp/echo/tools/call", &json!({"name": "whoami"}))
        .await
        .expect_status(200);
    assert_eq!(reply["isError"], false);
}

#[tokio::test]
async fn stdio_echo_serves_the_same_facade() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(json!({
        "template_name": "local", "instance_id": "local-1",
        "command": ECHO, "args": ["--stdio", "--instance-id", "local-1"],
    }))
    .await;
    gw.wait_healthy("local", 1).await;
    let list = gw
        .http()
        .get("/mcp/local/tools/list")
        .await
        .expect_status(200);
    assert_eq!(list["count"], 6);
    let sum = gw.call_tool("local", "add", json!({"a": -5, "b": 7})).await;
    assert_eq!(sum["structuredContent"]["result"], 2);
    assert_eq!(gw.whoami("local").await, "local-1");
    assert_eq!(
        gw.children().len(),
        1,
        "one child process per stdio instance"
    );
}

#[tokio::test]
async fn a_call_right_after_registering_a_stdio_instance_waits_for_it_to_start() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    // A server that takes half a second to start, like most Python or Node servers.
    let slow = format!("sleep 0.5; exec {ECHO} --stdio --instance-id slow-1");
    gw.register(json!({"template_name": "slow", "command": ["sh", "-c", slow]}))
        .await;
    // Registered means usable: the first call waits for the child instead of failing.
    assert_eq!(gw.whoami("slow").await, "slow-1");
}

#[tokio::test]
async fn template_health_reports_each_instance() {
    let (gw, a, _b) = gateway_with_http_echo().await;
    let http = gw.http();
    let health = http.get("/mcp/echo/health").await.expect_status(200);
    assert_eq!(health["template_name"], "echo");
    assert_eq!(health["total_instances"], 2);
    assert_eq!(health["healthy_instances"], 2);
    assert_eq!(health["health_percentage"], 100.0);
    let instances = health["instances"].as_object().unwrap();
    assert_eq!(instances.keys().collect::<Vec<_>>(), ["echo-a", "echo-b"]);
    for (id, instance) in instances {
        assert_eq!(instance["healthy"], true, "{id}: {health}");
        assert_eq!(instance["status"], "healthy", "{id}: {health}");
    }
    a.kill().await;
    let health = gw.wait_unhealthy("echo", "echo-a").await;
    assert_eq!(health["healthy_instances"], 1, "{health}");
    assert_eq!(health["health_percentage"], 50.0);
    assert_eq!(health["instances"]["echo-b"]["healthy"], true);
    assert_eq!(health["instances"]["echo-b"]["status"], "healthy");
}

#[tokio::test]
async fn gateway_health_is_healthy_then_degraded() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let http = gw.http();
    let health = http.get("/gateway/health").await.expect_status(200);
    assert_eq!(health["status"], "healthy", "{health}");
    // A template whose only instance is down makes the gateway degraded (still 200).
    let dead = format!("http://127.0.0.1:{}/mcp", free_port());
    gw.register(json!({"template_name": "dead", "instance_id": "d1", "endpoint": dead}))
        .await;
    let probe = gw.wait_unhealthy("dead", "d1").await;
    assert_eq!(probe["healthy_instances"], 0, "{probe}");
    assert_eq!(probe["health_percentage"], 0.0);
    let health = http.get("/gateway/health").await.expect_status(200);
    assert_eq!(health["status"], "degraded", "{health}");
}

#[tokio::test]
async fn a_running_stdio_instance_counts_as_healthy_without_traffic() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(
        json!({"template_name": "local", "instance_id": "l1", "command": [ECHO, "--stdio"]}),
    )
    .await;
    let gw_ref = &gw;
    wait_until(
        "the stdio child to start",
        Duration::from_secs(10),
        || async move { gw_ref.children().len() == 1 },
    )
    .await;
    // The child is up and answers; no request has gone through the gateway yet. The
    // gateway should not call itself degraded for that long.
    let http = gw.http();
    let mut last = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        last = http.get("/gateway/health").await.expect_status(200);
        if last["status"] == "healthy" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(last["status"], "healthy", "{last}");
    let registry = http.get("/gateway/registry").await.expect_status(200);
    assert_eq!(
        registry["templates"]["local"]["healthy_instances"], 1,
        "{registry}"
    );
}

#[tokio::test]
async fn registry_templates_and_stats_have_the_documented_shapes() {
    let (gw, _a, _b) = gateway_with_http_echo().await;
    gw.register(
        json!({"template_name": "local", "instance_id": "l1", "command": [ECHO, "--stdio"]}),
    )
    .await;
    let http = gw.http();
    let templates = http.get("/gateway/templates").await.expect_status(200);
    assert_eq!(templates, json!({"templates": ["echo", "local"]}));

    let registry = http.get("/gateway/registry").await.expect_status(200);
    assert_eq!(registry["total_templates"], 2, "{registry}");
    assert_eq!(registry["total_instances"], 3);
    let echo = &registry["templates"]["echo"];
    assert_eq!(echo["total_instances"], 2);
    assert_eq!(echo["load_balancer_strategy"], "round_robin");
    let ids: Vec<&str> = echo["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["echo-a", "echo-b"]);
    assert_eq!(
        registry["templates"]["local"]["instances"][0]["transport"],
        "stdio"
    );

    for _ in 0..4 {
        gw.call_tool("echo", "echo", json!({"message": "x"})).await;
    }
    http.post("/mcp/echo/tools/call", &json!({"name": "nope"}))
        .await;
    let stats = http.get("/gateway/stats").await.expect_status(200);
    for key in [
        "total_requests",
        "active_connections",
        "templates",
        "load_balancer",
        "health_checker",
        "response_time_ms",
        "error_rate",
    ] {
        assert!(stats.get(key).is_some(), "stats lack `{key}`: {stats}");
    }
    assert_eq!(stats["total_requests"], 5, "{stats}");
    assert_eq!(stats["active_connections"], 0);
    let per_instance = &stats["load_balancer"]["requests_per_instance"];
    assert_eq!(
        per_instance["echo-a"].as_u64().unwrap() + per_instance["echo-b"].as_u64().unwrap(),
        5,
        "{stats}"
    );
    assert_eq!(per_instance["l1"], 0);
    assert!(stats["templates"]["echo"].is_object(), "{stats}");
    assert!(stats["error_rate"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn deregister_removes_the_instance_and_aliases_work() {
    let (gw, _a, b) = gateway_with_http_echo().await;
    let http = gw.http();
    let gone = http
        .delete("/gateway/deregister/echo/echo-a")
        .await
        .expect_status(200);
    assert_eq!(gone["instance_id"], "echo-a", "{gone}");
    for _ in 0..3 {
        assert_eq!(gw.whoami("echo").await, "echo-b", "echo-a no longer routed");
    }
    http.delete("/gateway/deregister/echo/echo-a")
        .await
        .expect_error(404, "instance_not_found");

    // The predecessor's routes.
    let added = http
        .post(
            "/gateway/templates/echo/instances",
            &json!({"id": "echo-c", "endpoint": b.url()}),
        )
        .await
        .expect_status(201);
    assert_eq!(added["template_name"], "echo");
    assert_eq!(added["id"], "echo-c");
    http.delete("/gateway/templates/echo/instances/echo-c")
        .await
        .expect_status(200);
    http.delete("/gateway/templates/echo/instances/echo-c")
        .await
        .expect_error(404, "instance_not_found");
    let registry = http.get("/gateway/registry").await.expect_status(200);
    assert_eq!(registry["total_instances"], 1, "{registry}");

    // With no instance left, calls get 503 with Retry-After.
    http.delete("/gateway/deregister/echo/echo-b")
        .await
        .expect_status(200);
    let reply = http.get("/mcp/echo/tools/list").await;
    reply.expect_error(503, "unavailable");
    assert!(reply.header("retry-after").is_some(), "{:?}", reply.headers);
}

#[tokio::test]
async fn errors_have_one_shape_and_name_the_field() {
    let (gw, _a, _b) = gateway_with_http_echo().await;
    let http = gw.http();

    // Unknown template, on every facade route.
    for path in [
        "/mcp/nope/tools/list",
        "/mcp/nope/resources/list",
        "/mcp/nope/resources/templates/list",
        "/mcp/nope/prompts/list",
        "/mcp/nope/health",
        "/gateway/templates/nope/load-balancer",
    ] {
        http.get(path).await.expect_error(404, "template_not_found");
    }
    for (path, body) in [
        ("/mcp/nope/tools/call", json!({"name": "echo"})),
        ("/mcp/nope/resources/read", json!({"uri": "x://y"})),
        ("/mcp/nope/prompts/get", json!({"name": "p"})),
    ] {
        http.post(path, &body)
            .await
            .expect_error(404, "template_not_found");
    }
    // Unknown tool: the upstream's JSON-RPC error, as a client error with the details.
    let unknown = http
        .post("/mcp/echo/tools/call", &json!({"name": "no_such_tool"}))
        .await;
    assert!(
        [400, 404].contains(&unknown.status),
        "unknown tool: {} {}",
        unknown.status,
        unknown.text
    );
    assert!(unknown.text.contains("no_such_tool"), "{}", unknown.text);

    // Bad bodies name the field.
    let cases: [(&str, &str, &str); 9] = [
        ("/mcp/echo/tools/call", "{not json", "body"),
        ("/mcp/echo/tools/call", r#"{"arguments": {}}"#, "name"),
        ("/mcp/echo/tools/call", r#"{"name": ""}"#, "name"),
        ("/mcp/echo/resources/read", r#"{}"#, "uri"),
        (
            "/gateway/register",
            r#"{"endpoint": "http://127.0.0.1:1/mcp"}"#,
            "template_name",
        ),
        ("/gateway/register", r#"{"template_name": "t"}"#, "endpoint"),
        (
            "/gateway/register",
            r#"{"template_name": "t", "endpoint": "http://127.0.0.1:1/mcp", "weight": 0}"#,
            "weight",
        ),
        (
            "/gateway/register",
            r#"{"template_name": "t", "endpoint": "http://127.0.0.1:1/mcp", "bogus": 1}"#,
            "bogus",
        ),
        (
            "/gateway/register",
            r#"{"template_name": "a/b", "endpoint": "http://127.0.0.1:1/mcp"}"#,
            "template_name",
        ),
    ];
    for (path, body, field) in cases {
        let reply = http.post_raw(path, "application/json", body).await;
        let err = reply.expect_error(400, "invalid_field");
        assert_eq!(err["field"], field, "{path} {body}: {err}");
    }

    // Duplicate instance id.
    let dup = http
        .post(
            "/gateway/register",
            &json!({"template_name": "echo", "instance_id": "echo-a", "endpoint": "http://127.0.0.1:1/mcp"}),
        )
        .await;
    dup.expect_error(409, "conflict");
    // Unknown routes and instances.
    http.get("/no/such/route")
        .await
        .expect_error(404, "not_found");
    http.delete("/gateway/deregister/echo/nobody")
        .await
        .expect_error(404, "instance_not_found");
    http.delete("/gateway/deregister/nope/nobody")
        .await
        .expect_error(404, "instance_not_found");
    let bad = http
        .put(
            "/gateway/templates/echo/load-balancer",
            &json!({"max_retries": 99}),
        )
        .await
        .expect_error(400, "invalid_field");
    assert_eq!(bad["field"], "max_retries", "{bad}");
}

#[tokio::test]
async fn type_errors_name_the_field() {
    let (gw, _a, _b) = gateway_with_http_echo().await;
    let http = gw.http();
    for (path, body, field) in [
        ("/mcp/echo/tools/call", json!({"name": 5}), "name"),
        (
            "/mcp/echo/tools/call",
            json!({"name": "echo", "arguments": [1, 2]}),
            "arguments",
        ),
        ("/mcp/echo/resources/read", json!({"uri": ["x"]}), "uri"),
        (
            "/gateway/register",
            json!({"template_name": "t", "endpoint": "http://127.0.0.1:1/mcp", "weight": "heavy"}),
            "weight",
        ),
    ] {
        let err = http
            .post(path, &body)
            .await
            .expect_error(400, "invalid_field");
        assert_eq!(err["field"], field, "{path} {body}: {err}");
    }
    let err = http
        .put(
            "/gateway/templates/echo/load-balancer",
            &json!({"strategy": "fastest"}),
        )
        .await
        .expect_error(400, "invalid_field");
    assert_eq!(err["field"], "strategy", "{err}");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let (gw, _a, _b) = gateway_with_http_echo().await;
    let http = gw.http();
    for reply in [
        http.get("/gateway/health").await,
        http.get("/mcp/echo/tools/list").await,
        http.get("/mcp/nope/tools/list").await,
        http.post_raw("/gateway/register", "application/json", "{")
            .await,
    ] {
        let id = reply.header("x-request-id");
        assert!(
            id.is_some_and(|v| !v.is_empty()),
            "HTTP {} without X-Request-Id: {:?}",
            reply.status,
            reply.headers
        );
    }
}

/// Asserts the error body quotes the response's `x-request-id` and returns it.
#[track_caller]
fn request_id_matches(reply: &Reply, body: &Value) -> String {
    let header = reply
        .header("x-request-id")
        .unwrap_or_else(|| panic!("HTTP {} without X-Request-Id", reply.status));
    assert_eq!(
        body["request_id"].as_str(),
        Some(header),
        "body request_id vs header: {body}"
    );
    header.to_owned()
}

#[tokio::test]
async fn error_bodies_carry_the_request_id_of_the_response() {
    let (gw, _a, _b) = gateway_with_http_echo().await;
    let http = gw.http();
    // Errors from handlers, the body extractor and the fallback.
    let cases = [
        (
            http.get("/mcp/nope/tools/list").await,
            404,
            "template_not_found",
        ),
        (
            http.post_raw("/gateway/register", "application/json", "{")
                .await,
            400,
            "invalid_field",
        ),
        (http.get("/no/such/route").await, 404, "not_found"),
        (
            http.delete("/mcp/echo/tools/list").await,
            405,
            "method_not_allowed",
        ),
    ];
    let mut seen = std::collections::HashSet::new();
    for (reply, status, code) in &cases {
        let body = reply.expect_error(*status, code);
        assert!(
            seen.insert(request_id_matches(reply, &body)),
            "ids are unique"
        );
    }
    // A client's own id is kept, in the header and the body.
    let client = reqwest::Client::new();
    let response = client
        .get(http.url("/mcp/nope/tools/list"))
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-request-id"], "client-chosen-42");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["request_id"], "client-chosen-42", "{body}");
    // Success bodies are the upstream's, untouched.
    let list = http.get("/mcp/echo/tools/list").await.expect_status(200);
    assert!(list.get("request_id").is_none(), "{list}");
}

#[tokio::test]
async fn auth_errors_carry_the_request_id() {
    init_tracing();
    let gw = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_AUTH", "1")
        .env("MCP_GATEWAY_ADMIN_PASSWORD", "admin-password-e2e")
        .start()
        .await;
    let http = gw.http();
    let reply = http.get("/gateway/registry").await;
    let body = reply.expect_error(401, "unauthorized");
    request_id_matches(&reply, &body);
    let client = reqwest::Client::new();
    let response = client
        .get(http.url("/gateway/registry"))
        .header("x-request-id", "from-the-client")
        .header("authorization", "Bearer not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-request-id"], "from-the-client");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token", "{body}");
    assert_eq!(body["request_id"], "from-the-client", "{body}");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_the_error_shape() {
    let (gw, _a, _b) = gateway_with_http_echo().await;
    let http = gw.http();
    for (reply, method, path) in [
        (
            http.delete("/mcp/echo/tools/list").await,
            "DELETE",
            "/mcp/echo/tools/list",
        ),
        (
            http.put("/mcp/echo/tools/call", &json!({})).await,
            "PUT",
            "/mcp/echo/tools/call",
        ),
        (
            http.post("/gateway/health", &json!({})).await,
            "POST",
            "/gateway/health",
        ),
    ] {
        let body = reply.expect_error(405, "method_not_allowed");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains(method) && detail.contains(path),
            "names the method and path: {body}"
        );
        assert!(reply.header("allow").is_some(), "{:?}", reply.headers);
    }
}

#[tokio::test]
async fn an_upstream_that_dies_mid_call_is_502() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(json!({
        "template_name": "crashy", "instance_id": "crashy-1",
        "command": ECHO, "args": ["--stdio", "--instance-id", "crashy-1"],
    }))
    .await;
    gw.wait_healthy("crashy", 1).await;
    let http = gw.http();
    // The request reached the child, which exited before answering: 502, not 503, and
    // no retry (tools/call may have side effects).
    let reply = http
        .post("/mcp/crashy/tools/call", &json!({"name": "crash"}))
        .await;
    let body = reply.expect_error(502, "upstream_failed");
    assert!(
        reply.header("retry-after").is_none(),
        "502 has no Retry-After: {:?}",
        reply.headers
    );
    assert!(
        body["detail"].as_str().unwrap().contains("crashy"),
        "{body}"
    );
    request_id_matches(&reply, &body);

    // The child is restarted; the MCP endpoint reports the same failure as a JSON-RPC
    // error with the gateway's "upstream failed" code.
    let mut mcp = gateway_e2e::mcp::McpHttp::new(format!("{}/mcp/crashy", gw.base_url()));
    mcp.initialize("2025-06-18").await;
    let answer = mcp
        .request("tools/call", json!({"name": "crash", "arguments": {}}))
        .await;
    assert_eq!(answer["error"]["code"], -32053, "{answer}");
    // And the restarted child serves again.
    assert_eq!(gw.whoami("crashy").await, "crashy-1");
}

#[tokio::test]
async fn oversized_bodies_are_rejected_with_413() {
    init_tracing();
    let gw = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_MAX_MESSAGE_SIZE", "4096")
        .start()
        .await;
    let big = json!({"name": "echo", "arguments": {"message": "x".repeat(10_000)}});
    let reply = gw.http().post("/mcp/any/tools/call", &big).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
}

#[tokio::test]
async fn upstream_timeout_is_504_and_a_dead_upstream_is_503() {
    let (gw, _a, _b) = gateway_with_http_echo().await;
    let http = gw.http();
    let settings = http
        .put(
            "/gateway/templates/echo/load-balancer",
            &json!({"timeout": 1}),
        )
        .await
        .expect_status(200);
    assert_eq!(settings["timeout"], 1);
    let started = std::time::Instant::now();
    http.post(
        "/mcp/echo/tools/call",
        &json!({"name": "sleep_ms", "arguments": {"ms": 5000}}),
    )
    .await
    .expect_error(504, "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_millis(4500),
        "timed out late: {:?}",
        started.elapsed()
    );

    let dead = format!("http://127.0.0.1:{}/mcp", free_port());
    gw.register(json!({"template_name": "dead", "instance_id": "d1", "endpoint": dead}))
        .await;
    let reply = http
        .post(
            "/mcp/dead/tools/call",
            &json!({"name": "echo", "arguments": {"message": "x"}}),
        )
        .await;
    reply.expect_error(503, "unavailable");
    assert!(reply.header("retry-after").is_some());
}

#[tokio::test]
async fn server_everything_resources_prompts_and_pagination() {
    let Some(everything) = server_everything() else {
        return;
    };
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(json!({
        "template_name": "everything", "instance_id": "ev1",
        "command": everything.display().to_string(), "args": ["stdio"],
    }))
    .await;
    gw.wait_healthy("everything", 1).await;
    let http = gw.http();

    // Every page drained: compare with a direct, paged listing of the same server.
    let direct = rpc::direct_stdio(&everything.display().to_string(), &["stdio"]);
    let (direct_tools, _) = rpc::drain(&direct, "tools/list", "tools").await;
    let (direct_resources, _) = rpc::drain(&direct, "resources/list", "resources").await;
    direct.close().await;
    let tools = http
        .get("/mcp/everything/tools/list")
        .await
        .expect_status(200);
    assert_eq!(tools["count"], direct_tools.len(), "{tools}");
    assert_eq!(tools["tools"], json!(direct_tools));
    let resources = http
        .get("/mcp/everything/resources/list")
        .await
        .expect_status(200);
    assert_eq!(resources["count"], direct_resources.len());
    assert_eq!(resources["resources"], json!(direct_resources));
    let uris = names(&resources, "resources", "uri");
    let mut unique = uris.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), uris.len(), "no page fetched twice");

    // Read the first resource.
    let first = &uris[0];
    let read = http
        .post("/mcp/everything/resources/read", &json!({"uri": first}))
        .await
        .expect_status(200);
    assert_eq!(read["contents"][0]["uri"], first.as_str(), "{read}");
    // An unknown resource is an error with a body.
    let missing = http
        .post(
            "/mcp/everything/resources/read",
            &json!({"uri": "demo://no/such/thing"}),
        )
        .await;
    assert!(missing.status >= 400, "{}", missing.text);
    assert!(missing.json()["error"].is_string());

    let templates = http
        .get("/mcp/everything/resources/templates/list")
        .await
        .expect_status(200);
    assert_eq!(
        templates["count"].as_u64().unwrap() as usize,
        templates["resourceTemplates"].as_array().unwrap().len()
    );
    assert!(templates["count"].as_u64().unwrap() >= 1, "{templates}");

    let prompts = http
        .get("/mcp/everything/prompts/list")
        .await
        .expect_status(200);
    let prompt_names = names(&prompts, "prompts", "name");
    assert_eq!(
        prompts["count"].as_u64().unwrap() as usize,
        prompt_names.len()
    );
    // The first prompt that needs no arguments.
    let simple = prompts["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["arguments"]
                .as_array()
                .is_none_or(|a| a.iter().all(|arg| arg["required"] != true))
        })
        .unwrap_or_else(|| panic!("no argument-free prompt in {prompt_names:?}"));
    let got = http
        .post(
            "/mcp/everything/prompts/get",
            &json!({"name": simple["name"], "arguments": {}}),
        )
        .await
        .expect_status(200);
    assert!(
        !got["messages"].as_array().unwrap().is_empty(),
        "prompt {} has messages: {got}",
        simple["name"]
    );
    // A tool call through the same stdio child.
    let echoed = gw
        .call_tool("everything", "echo", json!({"message": "via gateway"}))
        .await;
    assert!(
        echoed["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("via gateway"),
        "{echoed}"
    );
}

#[tokio::test]
async fn every_list_drains_all_pages() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(json!({"template_name": "paged", "command": [PAGED]}))
        .await;
    let http = gw.http();
    for (path, key, field, want) in [
        (
            "tools/list",
            "tools",
            "name",
            vec!["t1", "t2", "t3", "t4", "t5", "t6", "t7"],
        ),
        (
            "resources/list",
            "resources",
            "uri",
            vec![
                "paged://r/1",
                "paged://r/2",
                "paged://r/3",
                "paged://r/4",
                "paged://r/5",
            ],
        ),
        (
            "resources/templates/list",
            "resourceTemplates",
            "name",
            vec!["t1", "t2", "t3"],
        ),
        ("prompts/list", "prompts", "name", vec!["p1", "p2", "p3"]),
    ] {
        let list = http
            .get(&format!("/mcp/paged/{path}"))
            .await
            .expect_status(200);
        assert_eq!(names(&list, key, field), want, "{path}: {list}");
        assert_eq!(list["count"], want.len(), "{path}");
        assert!(list.get("nextCursor").is_none(), "no cursor leaks: {list}");
    }
    let read = http
        .post("/mcp/paged/resources/read", &json!({"uri": "paged://r/4"}))
        .await
        .expect_status(200);
    assert_eq!(read["contents"][0]["text"], "content of paged://r/4");
    let missing = http
        .post("/mcp/paged/resources/read", &json!({"uri": "other://x"}))
        .await
        .expect_error(404, "resource_not_found");
    assert!(
        missing["detail"].as_str().unwrap().contains("other://x"),
        "{missing}"
    );
    let prompt = http
        .post("/mcp/paged/prompts/get", &json!({"name": "p2"}))
        .await
        .expect_status(200);
    assert_eq!(prompt["messages"][0]["content"]["text"], "prompt p2");
}

#[tokio::test]
async fn mcp_server_time_over_stdio() {
    let Some(time) = server_time() else {
        return;
    };
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(json!({"template_name": "time", "command": time.display().to_string()}))
        .await;
    gw.wait_healthy("time", 1).await;
    let list = gw
        .http()
        .get("/mcp/time/tools/list")
        .await
        .expect_status(200);
    let tools = names(&list, "tools", "name");
    assert!(tools.contains(&"get_current_time".to_owned()), "{tools:?}");
    assert!(tools.contains(&"convert_time".to_owned()), "{tools:?}");
    let now = gw
        .call_tool("time", "get_current_time", json!({"timezone": "UTC"}))
        .await;
    assert_eq!(now["isError"], false, "{now}");
    let text = now["content"][0]["text"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(text).unwrap();
    assert_eq!(parsed["timezone"], "UTC", "{text}");
    let converted = gw
        .call_tool(
            "time",
            "convert_time",
            json!({"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}),
        )
        .await;
    let text = converted["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("21:00"), "{text}");
    let bad = gw
        .call_tool(
            "time",
            "get_current_time",
            json!({"timezone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(bad["isError"], true, "{bad}");
}
