//! The guide's authentication steps, typed as printed (ports adapted) into `sh` with the
//! real `mcpp` on `PATH`: `create-user`, `start --auth`, `login`, `create-api-key`, and the
//! curl examples with a Bearer JWT and with `X-API-Key`; then the other auth verbs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, time::Duration};

use gateway_e2e::{
    EchoHttp, Output, TempDb,
    auth::{AuthGateway, Cred},
    init_tracing, run,
};
use serde_json::Value;

const MCPP: &str = env!("CARGO_BIN_EXE_mcpp-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// A shell session: `mcpp` on PATH, config and data in a scratch directory.
struct Shell {
    envs: Vec<(String, String)>,
}

impl Shell {
    fn new(scratch: &Path) -> Shell {
        let bin = scratch.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(MCPP, bin.join("mcpp")).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let dir = scratch.display().to_string();
        Shell {
            envs: vec![
                ("PATH".into(), path),
                ("HOME".into(), dir.clone()),
                ("XDG_CONFIG_HOME".into(), format!("{dir}/config")),
                ("XDG_DATA_HOME".into(), dir),
                ("MCP_GATEWAY_BCRYPT_COST".into(), "4".into()),
            ],
        }
    }

    fn set(&mut self, key: &str, value: impl Into<String>) {
        self.envs.retain(|(k, _)| k != key);
        self.envs.push((key.to_owned(), value.into()));
    }

    fn unset(&mut self, key: &str) {
        self.envs.retain(|(k, _)| k != key);
    }

    async fn sh(&self, script: &str) -> Output {
        let envs: Vec<(&str, &str)> = self
            .envs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        run("sh", ["-c", script], &envs, STEP_TIMEOUT).await
    }

    /// Runs `script`, asserting success; returns stdout.
    async fn ok(&self, script: &str) -> String {
        let out = self.sh(script).await;
        out.expect_success();
        out.stdout
    }
}

#[tokio::test]
async fn the_guides_auth_steps_work_as_printed() {
    init_tracing();
    let scratch = TempDb::new();
    let mut shell = Shell::new(scratch.dir());
    shell.set("MCP_GATEWAY_DATABASE_URL", scratch.url());

    // "Create admin user": with the gateway's database at hand, straight into it.
    let out = shell
        .ok("mcpp gateway create-user admin --password secure_password --role admin")
        .await;
    assert!(out.contains("created user admin (role admin"), "{out}");

    // "Start gateway with authentication enabled" (port adapted).
    let gw = AuthGateway::builder(scratch.dir().join("bin/mcpp"))
        .bare()
        .subcommand(&["gateway", "start"])
        .arg("--auth")
        .env("MCP_GATEWAY_BCRYPT_COST", "4")
        .database(&scratch)
        .start()
        .await;
    assert!(
        !gw.stderr().contains("Password:"),
        "no first-start admin: one exists"
    );
    shell.set("MCP_GATEWAY_URL", gw.base_url());
    shell.unset("MCP_GATEWAY_DATABASE_URL");

    // Nothing works without logging in.
    let denied = shell.sh("mcpp gateway list-users").await;
    assert_eq!(denied.code, Some(1), "{denied:?}");
    assert!(
        denied.stderr.contains("mcpp gateway login"),
        "{}",
        denied.stderr
    );

    // "Login to get JWT token": the password is typed at the prompt (here: on stdin).
    let out = shell
        .ok("printf 'secure_password\\n' | mcpp gateway login admin")
        .await;
    assert!(out.contains("logged in as admin"), "{out}");
    let token_file = scratch.dir().join("config/mcp-gateway/token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the token file is private");

    // "Register MCP servers", as the logged-in admin.
    let echo = EchoHttp::spawn(ECHO, 0, "fs-1").await;
    shell
        .ok(&format!(
            "mcpp gateway register filesystem --endpoint {}",
            echo.url()
        ))
        .await;

    // "Create API key for programmatic access".
    let out = shell
        .ok("mcpp gateway create-api-key my-app --role user")
        .await;
    let key = out
        .lines()
        .find(|l| l.starts_with("mcpgw_"))
        .unwrap_or_else(|| panic!("no key printed: {out}"))
        .to_owned();
    assert!(out.contains("cannot be shown again"), "{out}");
    assert!(
        out.contains("scopes mcp:read mcp:call gateway:read"),
        "{out}"
    );

    // "List Tools (with Authentication)": both curl examples, as printed.
    let port = gw.addr.port();
    for header in [
        format!("Authorization: Bearer {token}"),
        format!("X-API-Key: {key}"),
    ] {
        let out = shell
            .ok(&format!(
                "curl -s -X GET http://localhost:{port}/mcp/filesystem/tools/list \\\n  -H \"{header}\""
            ))
            .await;
        let tools: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert!(tools["count"].as_u64().unwrap() >= 1, "{tools}");
        assert!(
            tools["tools"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == "echo")
        );
    }
    // Without either header: 401.
    let out = shell
        .ok(&format!(
            "curl -s -o /dev/null -w '%{{http_code}}' http://localhost:{port}/mcp/filesystem/tools/list"
        ))
        .await;
    assert_eq!(out, "401");

    // The other verbs.
    let out = shell
        .ok("mcpp gateway create-user alice --password alice-password-1 --role user")
        .await;
    assert!(out.contains("created user alice (role user"), "{out}");
    let out = shell.ok("mcpp gateway list-users").await;
    assert!(
        out.contains("admin") && out.contains("alice") && out.starts_with("USER"),
        "{out}"
    );
    let out = shell.ok("mcpp gateway list-api-keys --json").await;
    let keys: Value = serde_json::from_str(&out).unwrap();
    let id = keys[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(keys[0]["name"], "my-app");
    assert!(!out.contains(&key[20..]), "listing never shows the key");
    let out = shell.ok(&format!("mcpp gateway revoke-api-key {id}")).await;
    assert!(out.contains("revoked"), "{out}");
    let client = gw.client();
    client
        .get("/mcp/filesystem/tools/list", Cred::Key(&key))
        .await
        .expect_status(401);

    // A user's login replaces the stored token; its limits apply to the CLI.
    shell
        .ok("mcpp gateway login alice --password alice-password-1")
        .await;
    let denied = shell.sh("mcpp gateway list-users").await;
    assert_eq!(denied.code, Some(1));
    assert!(denied.stderr.contains("admin"), "{}", denied.stderr);
    let out = shell.ok("mcpp gateway status").await;
    assert!(out.contains("filesystem"), "{out}");

    // A wrong password fails without storing anything.
    let bad = shell
        .sh("printf 'nope\\n' | mcpp gateway login alice")
        .await;
    assert_eq!(bad.code, Some(1), "{bad:?}");
    assert!(token_file.exists(), "the previous token stays");

    let out = shell.ok("mcpp gateway logout").await;
    assert!(out.contains("logged out"), "{out}");
    assert!(!token_file.exists());
    assert!(
        shell
            .ok("mcpp gateway logout")
            .await
            .contains("not logged in")
    );
    // API keys work for the CLI too.
    let admin_key = client
        .create_key(
            Cred::Bearer(token.trim()),
            serde_json::json!({"name": "cli", "role": "admin"}),
        )
        .await
        .0;
    shell.set("MCP_GATEWAY_API_KEY", admin_key);
    let out = shell.ok("mcpp gateway list-users --json").await;
    assert!(out.contains("alice"), "{out}");
    gw.stop().await;
}

#[tokio::test]
async fn create_user_checks_the_password_policy_offline() {
    init_tracing();
    let scratch = TempDb::new();
    let mut shell = Shell::new(scratch.dir());
    shell.set("MCP_GATEWAY_DATABASE_URL", scratch.url());
    let out = shell
        .sh("mcpp gateway create-user bob --password short")
        .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("at least 12 characters"),
        "{}",
        out.stderr
    );
    let out = shell
        .sh("mcpp gateway create-user carol1234567 --password carol1234567")
        .await;
    assert!(out.stderr.contains("user name"), "{}", out.stderr);
    shell
        .ok("printf 'a-good-password\\n' | mcpp gateway create-user bob")
        .await;
    let again = shell
        .sh("mcpp gateway create-user bob --password a-good-password")
        .await;
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
}
