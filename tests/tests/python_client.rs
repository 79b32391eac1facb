//! Python users keep working: the predecessor's published client (`GatewayClient` from
//! PyPI `mcp-platform==1.2.0`) runs against our gateway. The driver script
//! `tests/python/legacy_client.py` prints every result as JSON; this test checks it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_e2e::*;
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

#[tokio::test]
async fn the_predecessors_python_client_works_against_the_gateway() {
    let (Some(python), Some(everything)) = (legacy_python(), server_everything()) else {
        return;
    };
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let a = EchoHttp::spawn(ECHO, 0, "py-a").await;
    let b = EchoHttp::spawn(ECHO, 0, "py-b").await;
    for (id, echo) in [("py-a", &a), ("py-b", &b)] {
        gw.register(json!({"template_name": "echo", "instance_id": id, "endpoint": echo.url()}))
            .await;
    }
    gw.register(json!({
        "template_name": "everything", "instance_id": "ev1",
        "command": [everything.display().to_string(), "stdio"],
    }))
    .await;
    gw.wait_healthy("echo", 2).await;
    gw.wait_healthy("everything", 1).await;

    let script = repo_root().join("tests/python/legacy_client.py");
    let out = run(
        &python,
        [
            script.display().to_string(),
            gw.base_url(),
            "echo".to_owned(),
            "everything".to_owned(),
        ],
        &[("PYTHONDONTWRITEBYTECODE", "1")],
        Duration::from_secs(120),
    )
    .await;
    let stdout = out.expect_success();
    let r: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("driver output is not JSON ({e}): {stdout}\n{}", out.stderr));

    // health_check, get_stats (their GatewayStatsResponse(**data) accepted it),
    // get_registry, list_templates.
    // (`degraded` is possible here: a stdio instance counts as "starting" until its
    // first request; rest_facade.rs covers that separately.)
    let status = r["health"]["status"].as_str().unwrap();
    assert!(["healthy", "degraded"].contains(&status), "{}", r["health"]);
    assert_eq!(r["health"]["database"], "healthy", "{}", r["health"]);
    for key in [
        "total_requests",
        "active_connections",
        "templates",
        "load_balancer",
        "health_checker",
    ] {
        assert!(r["stats"].get(key).is_some(), "stats.{key}: {}", r["stats"]);
    }
    assert_eq!(r["registry"]["total_instances"], 3, "{}", r["registry"]);
    assert_eq!(r["templates"], json!(["echo", "everything"]));

    // list_tools, call_tool (content + isError), a tool error.
    let tools: Vec<&str> = r["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        ["echo", "add", "sleep_ms", "fail", "crash", "whoami"]
    );
    assert_eq!(
        r["call"]["content"],
        json!([{"type": "text", "text": "42"}])
    );
    assert_eq!(r["call"]["isError"], false);
    assert_eq!(r["call_error"]["isError"], true, "{}", r["call_error"]);
    assert_eq!(r["call_error"]["content"][0]["text"], "nope");

    // A template without resources or prompts lists none (their client raised on the
    // 404 this used to be).
    assert_eq!(r["tools_template_resources"], json!([]), "{r}");
    assert_eq!(r["tools_template_prompts"], json!([]), "{r}");

    // list_resources, read_resource, list_prompts, get_prompt (server-everything).
    let direct = rpc::direct_stdio(&everything.display().to_string(), &["stdio"]);
    let (resources, _) = rpc::drain(&direct, "resources/list", "resources").await;
    direct.close().await;
    assert_eq!(r["resources_count"], resources.len());
    assert_eq!(
        r["read"]["contents"][0]["uri"], r["read_uri"],
        "{}",
        r["read"]
    );
    assert!(!r["prompts"].as_array().unwrap().is_empty());
    assert!(
        !r["prompt"]["messages"].as_array().unwrap().is_empty(),
        "{}: {}",
        r["prompt_name"],
        r["prompt"]
    );

    // call_tools_batch: five successes, and the failure their client turns into isError.
    let batch = r["batch"].as_array().unwrap();
    assert_eq!(batch.len(), 6);
    for (i, result) in batch[..5].iter().enumerate() {
        assert_eq!(result["isError"], false, "{result}");
        assert_eq!(result["content"][0]["text"], format!("m{i}"));
    }
    assert_eq!(batch[5]["isError"], true);
    assert!(
        batch[5]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("404"),
        "{}",
        batch[5]
    );

    // The calls were load-balanced across both echo instances.
    let per_instance = &r["stats_after"]["load_balancer"]["requests_per_instance"];
    let (pa, pb) = (
        per_instance["py-a"].as_u64().unwrap(),
        per_instance["py-b"].as_u64().unwrap(),
    );
    assert_eq!(
        pa + pb,
        10,
        "tools, resources and prompts lists + 2 calls + 5 batch calls: {per_instance}"
    );
    assert!(pa >= 3 && pb >= 3, "round robin: {per_instance}");
}
