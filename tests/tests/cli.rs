//! `mcpp gateway register|status|deregister|start` as a user runs them: the real `mcpp`
//! binary against the real gateway binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_e2e::*;
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const MCPP: &str = env!("CARGO_BIN_EXE_mcpp-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");
const CLI_TIMEOUT: Duration = Duration::from_secs(30);

/// `mcpp gateway ARGS... --gateway-url URL`.
async fn mcpp(gw_url: &str, args: &[&str]) -> Output {
    let mut all = vec!["gateway"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--gateway-url", gw_url]);
    run(MCPP, &all, &[], CLI_TIMEOUT).await
}

async fn instance(gw: &TestGateway, template: &str, id: &str) -> Option<Value> {
    let registry = gw.http().get("/gateway/registry").await.expect_status(200);
    registry["templates"][template]["instances"]
        .as_array()?
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
}

#[tokio::test]
async fn register_status_and_deregister_an_http_instance() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let echo = EchoHttp::spawn(ECHO, 0, "cli-http").await;
    let url = gw.base_url();
    let out = mcpp(
        &url,
        &[
            "register",
            "web",
            "--endpoint",
            &echo.url(),
            "--id",
            "w1",
            "--weight",
            "4",
        ],
    )
    .await;
    let stdout = out.expect_success();
    assert!(stdout.contains("w1") && stdout.contains("web"), "{stdout}");
    let registered = instance(&gw, "web", "w1").await.expect("registered");
    assert_eq!(registered["endpoint"], echo.url());
    assert_eq!(registered["transport"], "http");
    assert_eq!(registered["weight"], 4);
    assert_eq!(gw.whoami("web").await, "cli-http");

    // `status` shows the gateway and the instance.
    let out = mcpp(&url, &["status"]).await;
    let stdout = out.expect_success();
    for needle in ["web", "w1", &echo.url(), "http"] {
        assert!(
            stdout.contains(needle),
            "status lacks {needle:?}:\n{stdout}"
        );
    }
    // `--json` prints the gateway's JSON.
    let out = mcpp(&url, &["status", "--json"]).await;
    let status: Value = serde_json::from_str(out.expect_success()).unwrap();
    assert_eq!(status["registry"]["total_instances"], 1, "{status}");
    assert!(status["health"]["status"].is_string(), "{status}");

    let out = mcpp(&url, &["deregister", "web", "w1"]).await;
    out.expect_success();
    assert!(instance(&gw, "web", "w1").await.is_none());
    // Again: the instance is gone, exit 1 with a message naming it.
    let out = mcpp(&url, &["deregister", "web", "w1"]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("w1"), "{}", out.stderr);
}

#[tokio::test]
async fn register_a_stdio_command_with_working_dir_and_env() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let url = gw.base_url();
    let work = TempDb::new();
    let command = format!("{ECHO} --stdio --instance-id cli-stdio");
    let out = mcpp(
        &url,
        &[
            "register",
            "local",
            "--command",
            &command,
            "--working-dir",
            &work.dir().display().to_string(),
            "--env",
            "API_TOKEN=s3cret",
            "--id",
            "s1",
        ],
    )
    .await;
    let stdout = out.expect_success();
    assert!(stdout.contains("stdio"), "{stdout}");
    assert!(
        !stdout.contains("s3cret"),
        "secrets are not printed: {stdout}"
    );
    let registered = instance(&gw, "local", "s1").await.expect("registered");
    assert_eq!(registered["transport"], "stdio");
    assert_eq!(
        registered["command"],
        json!([ECHO, "--stdio", "--instance-id", "cli-stdio"])
    );
    assert_eq!(registered["working_dir"], work.dir().display().to_string());
    assert_eq!(registered["env_vars"], json!({"API_TOKEN": "<redacted>"}));
    gw.wait_healthy("local", 1).await;
    assert_eq!(gw.whoami("local").await, "cli-stdio");

    // A duplicate id: exit 1 and a hint.
    let out = mcpp(
        &url,
        &["register", "local", "--command", &command, "--id", "s1"],
    )
    .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("s1"), "{}", out.stderr);
    // A bad registration names the field.
    let out = mcpp(&url, &["register", "local", "--endpoint", "ftp://nowhere"]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("endpoint"), "{}", out.stderr);
}

#[tokio::test]
async fn an_unreachable_gateway_is_a_clear_error_with_exit_code_1() {
    let url = format!("http://127.0.0.1:{}", free_port());
    for args in [
        vec!["status"],
        vec!["register", "web", "--endpoint", "http://127.0.0.1:1/mcp"],
        vec!["deregister", "web", "w1"],
    ] {
        let out = mcpp(&url, &args).await;
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(&url) && out.stderr.contains("cannot reach"),
            "{args:?}: the message names the gateway: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
}

#[tokio::test]
async fn usage_errors_exit_with_code_2() {
    // Neither --endpoint nor --command.
    let out = run(MCPP, ["gateway", "register", "web"], &[], CLI_TIMEOUT).await;
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("--endpoint") || out.stderr.contains("--command"),
        "{}",
        out.stderr
    );
    let out = run(MCPP, ["gateway", "frobnicate"], &[], CLI_TIMEOUT).await;
    assert_eq!(out.code, Some(2), "{out:?}");
}

#[tokio::test]
async fn gateway_url_can_come_from_the_environment() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let out = run(
        MCPP,
        ["gateway", "status"],
        &[("MCP_GATEWAY_URL", &gw.base_url())],
        CLI_TIMEOUT,
    )
    .await;
    let stdout = out.expect_success();
    assert!(stdout.contains(&gw.base_url()), "{stdout}");
}

#[tokio::test]
async fn mcpp_gateway_start_serves_and_stops_on_sigterm() {
    init_tracing();
    let db = TempDb::new();
    let gw = TestGateway::builder(MCPP)
        .subcommand(&["gateway", "start"])
        .database(&db)
        .start()
        .await;
    let health = gw.http().get("/gateway/health").await.expect_status(200);
    assert_eq!(health["status"], "healthy", "{health}");
    assert_eq!(health["database_backend"], "sqlite");
    let echo = EchoHttp::spawn(ECHO, 0, "started").await;
    let out = mcpp(
        &gw.base_url(),
        &["register", "t", "--endpoint", &echo.url()],
    )
    .await;
    out.expect_success();
    assert_eq!(gw.whoami("t").await, "started");
    assert!(
        db.path().exists(),
        "the database file is where --database says"
    );
    let status = gw.stop().await;
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn gateway_server_rejects_invalid_configuration_naming_the_key() {
    let db = TempDb::new();
    let config = db.dir().join("gateway.json");
    std::fs::write(
        &config,
        r#"{"templates": {"web": {"load_balancer": {"strategy": "fastest"}}}}"#,
    )
    .unwrap();
    let out = run(
        GATEWAY,
        [
            "--port",
            "0",
            "--database",
            &db.url(),
            "--config",
            &config.display().to_string(),
        ],
        &[],
        CLI_TIMEOUT,
    )
    .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("strategy") || out.stderr.contains("templates.web"),
        "{}",
        out.stderr
    );
    let out = run(
        GATEWAY,
        ["--port", "0", "--database", &db.url()],
        &[("MCP_GATEWAY_DEFAULT_STRATEGY", "fastest")],
        CLI_TIMEOUT,
    )
    .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("MCP_GATEWAY_DEFAULT_STRATEGY"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_config_file_seeds_templates_and_instances() {
    init_tracing();
    let db = TempDb::new();
    let echo = EchoHttp::spawn(ECHO, 0, "seeded").await;
    let config = db.dir().join("gateway.json");
    let body = json!({
        "templates": {
            "high-performance": {
                "instances": [{"endpoint": echo.url()}],
                "load_balancer": {"strategy": "weighted", "health_check_interval": 15, "max_retries": 2, "timeout": 30},
            }
        }
    });
    std::fs::write(&config, body.to_string()).unwrap();
    let gw = TestGateway::builder(GATEWAY)
        .database(&db)
        .arg("--config")
        .arg(config.display().to_string())
        .start()
        .await;
    let lb = gw
        .http()
        .get("/gateway/templates/high-performance/load-balancer")
        .await
        .expect_status(200);
    assert_eq!(lb["strategy"], "weighted");
    assert_eq!(lb["health_check_interval"], 15);
    assert_eq!(lb["max_retries"], 2);
    assert_eq!(lb["timeout"], 30);
    assert_eq!(gw.whoami("high-performance").await, "seeded");
    // Restarting with the same file does not duplicate the seeded instance.
    gw.stop().await;
    let gw = TestGateway::builder(GATEWAY)
        .database(&db)
        .arg("--config")
        .arg(config.display().to_string())
        .start()
        .await;
    let registry = gw.http().get("/gateway/registry").await.expect_status(200);
    assert_eq!(registry["total_instances"], 1, "{registry}");
}

#[tokio::test]
async fn a_log_level_that_is_not_one_stops_the_start_saying_what_to_use() {
    // `verbose` used to be taken as a target name and silence every log line.
    let db = TempDb::new();
    let out = run(
        MCPP,
        [
            "gateway",
            "start",
            "--port",
            "0",
            "--database",
            &db.url(),
            "--log-level",
            "verbose",
        ],
        &[],
        CLI_TIMEOUT,
    )
    .await;
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("--log-level")
            && out
                .stderr
                .contains("use error, warn, info, debug, trace or off"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn start_errors_name_the_real_cause_and_the_right_fix() {
    // An unknown URL scheme is not called sqlite.
    let out = run(
        MCPP,
        ["gateway", "start", "--port", "0", "--database", "foo://bar"],
        &[],
        CLI_TIMEOUT,
    )
    .await;
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("unsupported URL scheme")
            && out
                .stderr
                .contains("expected a sqlite:, postgres:, postgresql: or mysql: URL")
            && !out.stderr.contains("(sqlite)"),
        "{}",
        out.stderr
    );

    // A host that is not this machine's is not fixed by another port.
    let db = TempDb::new();
    let out = run(
        MCPP,
        [
            "gateway",
            "start",
            "--port",
            "0",
            "--database",
            &db.url(),
            "--host",
            "192.0.2.1",
            "--auth",
        ],
        &[(
            "MCP_GATEWAY_JWT_SECRET",
            "0123456789abcdef0123456789abcdef-cli-test",
        )],
        CLI_TIMEOUT,
    )
    .await;
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("check --host") && !out.stderr.contains("another --port"),
        "{}",
        out.stderr
    );

    // A port in use is.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let db = TempDb::new();
    let out = run(
        MCPP,
        ["gateway", "start", "--port", &port, "--database", &db.url()],
        &[],
        CLI_TIMEOUT,
    )
    .await;
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("pick another --port"), "{}", out.stderr);
}
