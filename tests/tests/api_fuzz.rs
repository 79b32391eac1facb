//! Schema-driven API fuzzing: `schemathesis` generates requests from our own
//! `/openapi.json` (valid and invalid ones, every operation) against the real gateway,
//! auth off and auth on, and checks every answer: no 5xx, every status and body as
//! documented, valid input accepted and invalid input refused.
//!
//! CI runs a bounded example count with a fixed seed (repeatable); a longer run:
//! `MCP_GATEWAY_FUZZ_EXAMPLES=500 MCP_GATEWAY_FUZZ_SEED=$RANDOM cargo nextest run -p gateway-e2e --test api_fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, process::Stdio, time::Duration};

use gateway_e2e::{
    auth::{ADMIN_PASSWORD, AuthGateway},
    *,
};
use serde_json::json;
use tokio::process::Command;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// Longer than any bounded run takes; a hang is a failure, not a stuck CI.
const RUN_LIMIT: Duration = Duration::from_secs(420);

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Runs schemathesis against `base` with `extra` arguments; panics with its report
/// when it finds anything.
async fn fuzz(st: &Path, base: &str, config: &Path, extra: &[String]) {
    let mut cmd = Command::new(st);
    cmd.arg("--config-file")
        .arg(config)
        .arg("--no-color")
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        .args([
            "--max-examples",
            &setting("MCP_GATEWAY_FUZZ_EXAMPLES", "25"),
        ])
        .args(["--seed", &setting("MCP_GATEWAY_FUZZ_SEED", "20261202")])
        // One worker: CPython 3.11's parser is not thread-safe when Hypothesis reads
        // lambda sources from two workers at once ("AST constructor recursion depth
        // mismatch").
        .args(["--workers", "1", "--request-timeout", "20"])
        .args(["--suppress-health-check", "too_slow,filter_too_much"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd.args(extra);
    let out = tokio::time::timeout(RUN_LIMIT, cmd.output())
        .await
        .expect("schemathesis did not finish in time")
        .expect("schemathesis runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}"
    );
    // A run that tested nothing would pass vacuously.
    assert!(
        report.contains("Tested: ") && !report.contains("Tested: 0"),
        "schemathesis tested no operation:\n{report}"
    );
    eprintln!("{report}");
}

/// Every check on every operation, with two exceptions. Registration and settings
/// bodies have rules the document states in prose (transport against endpoint or
/// command, header names, URL schemes, TLS files that must exist), so a body valid by
/// the schema alone may get a 400 naming the field: "valid data accepted" cannot hold
/// there, nor for users and keys (a password that is the user name; scopes, templates
/// and limits within the owner's); nor on the facade's calls, where the upstream decides which names and
/// arguments exist (an unknown tool is its -32602, answered 400). And 502/503/504 are
/// documented answers (the facade's when an upstream fails: the fuzzer finds the echo
/// server's `crash` tool; health's when degraded), still checked against each
/// operation's documented statuses; a 500 is a failure.
const CHECKS: &str = r#"
[checks]
enabled = true
not_a_server_error.expected-statuses = ["1XX", "2XX", "3XX", "4XX", 502, 503, 504]

[[operations]]
include-path-regex = "^/gateway/(register|templates/\\{template\\}/(instances|load-balancer))$"
checks.positive_data_acceptance.enabled = false

[[operations]]
include-path-regex = "^/auth/(users|api-keys)"
checks.positive_data_acceptance.enabled = false

[[operations]]
include-path-regex = "^/mcp/\\{template\\}/(tools/call|prompts/get|resources/read)$"
checks.positive_data_acceptance.enabled = false
"#;

/// The configuration file: the checks, and which template the facade operations
/// address (else random names, mostly 404).
fn config(dir: &Path, template: Option<&str>) -> std::path::PathBuf {
    let path = dir.join("schemathesis.toml");
    let mut body = match template {
        Some(t) => format!("[parameters]\n\"path.template\" = \"{t}\"\n"),
        None => String::new(),
    };
    body.push_str(CHECKS);
    std::fs::write(&path, body).unwrap();
    path
}

#[tokio::test]
async fn the_api_answers_as_documented_with_auth_off() {
    let Some(st) = schemathesis() else { return };
    // A stdio upstream from the configuration file: when the fuzzer calls its `crash`
    // tool the gateway restarts it, as it would in production.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.json");
    let templates = json!({"templates": {"echo": {"instances": [{"command": [ECHO, "--stdio"]}]}}});
    std::fs::write(&file, templates.to_string()).unwrap();
    let gw = TestGateway::builder(GATEWAY)
        .without_stdio_registration()
        .arg("--config")
        .arg(file.display().to_string())
        .start()
        .await;
    gw.wait_healthy("echo", 1).await;
    let cfg = config(gw.db().dir(), Some("echo"));
    // The account routes answer 404 `auth_disabled` here, also without the
    // `Authorization` the document asks for; the auth-on run covers them.
    let accounts = ["--exclude-path-regex", "^/auth/(api-keys|audit|me|users)"];
    fuzz(&st, &gw.base_url(), &cfg, &accounts.map(String::from)).await;
    // The gateway still serves the template (restarted if the fuzzer crashed it).
    gw.wait_healthy("echo", 1).await;
    let reply = gw
        .call_tool("echo", "echo", json!({"message": "still here"}))
        .await;
    assert_eq!(reply["content"][0]["text"], "still here", "{reply}");
}

#[tokio::test]
async fn the_api_answers_as_documented_with_auth_on() {
    let Some(st) = schemathesis() else { return };
    // The fuzzer sends thousands of requests a minute; the admin's default limit
    // would answer most of them 429 and test nothing behind it.
    let gw = AuthGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_RATE_LIMIT_ADMIN", "1000000")
        .start()
        .await;
    let c = gw.client();
    let token = c.login("admin", ADMIN_PASSWORD).await;
    let cfg = config(gw.db().dir(), None);
    fuzz(
        &st,
        &gw.base_url(),
        &cfg,
        &["-H".to_owned(), format!("Authorization: Bearer {token}")],
    )
    .await;
    // Anonymous requests are refused as documented, too. Authentication answers before
    // routing (401 for any method), so an anonymous client cannot map which methods
    // exist: the "405 for an undeclared method" check does not apply to it.
    let anonymous = ["--exclude-checks", "unsupported_method"];
    fuzz(&st, &gw.base_url(), &cfg, &anonymous.map(String::from)).await;
}
