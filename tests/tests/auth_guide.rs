//! The guide's authentication steps, typed as printed (ports adapted) into `sh` with the
//! real `mcpp` on `PATH`: `create-user`, `start --auth`, `login`, `create-api-key`, and the
//! curl examples with a Bearer JWT and with `X-API-Key`; then the other auth verbs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use gateway_e2e::{
    EchoHttp, Output, TempDb,
    auth::{ADMIN_PASSWORD, AuthGateway, Cred},
    init_tracing, run,
};
use serde_json::{Value, json};

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

/// `application/x-www-form-urlencoded` encoding of one value (every byte outside the
/// unreserved set as `%XX`, so `&`, `=`, `+` and spaces survive).
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The claims of a JWT, unverified (the gateway verified it by accepting it).
fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The sorted top-level keys of a JSON object.
fn keys(body: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn login_answers_the_oauth2_form_and_json_alike() {
    init_tracing();
    let gw = AuthGateway::builder(MCPP)
        .subcommand(&["gateway", "start"])
        .env("MCP_GATEWAY_JWT_EXPIRY", "900")
        .start()
        .await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    // A password that only survives correct form decoding.
    let password = "p&ss=w+rd %é/long";
    c.post(
        "/auth/users",
        Cred::Bearer(&admin),
        &json!({"username": "form-user", "password": password, "role": "user"}),
    )
    .await
    .expect_status(201);

    let form = c
        .post_form(
            "/auth/login",
            &format!(
                "grant_type=password&username=form-user&password={}",
                form_encode(password)
            ),
        )
        .await
        .expect_status(200);
    let json_login = c
        .login_reply("form-user", password)
        .await
        .expect_status(200);
    for (how, body) in [("form", &form), ("json", &json_login)] {
        assert_eq!(
            keys(body),
            ["access_token", "expires_in", "token_type"],
            "{how}: {body}"
        );
        assert_eq!(body["token_type"], "bearer", "{how}: {body}");
        assert!(body["expires_in"].is_u64(), "{how}: an integer: {body}");
        assert_eq!(body["expires_in"], 900, "{how}: the configured expiry");
        let token = body["access_token"].as_str().unwrap();
        let claims = jwt_claims(token);
        assert_eq!(claims["sub"], "form-user", "{how}: {claims}");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            900,
            "{how}: expires_in is the token's lifetime: {claims}"
        );
        // The token works on protected routes.
        let me = c
            .get("/auth/me", Cred::Bearer(token))
            .await
            .expect_status(200);
        assert_eq!(me["username"], "form-user", "{how}: {me}");
        assert_eq!(me["kind"], "user", "{how}: {me}");
        let templates = c.get("/gateway/templates", Cred::Bearer(token)).await;
        assert_eq!(templates.status, 200, "{how}: {}", templates.text);
    }
    assert_ne!(
        form["access_token"], json_login["access_token"],
        "each login issues its own token"
    );

    // The form's other cases: a wrong password, and a grant type other than password.
    let wrong = c
        .post_form(
            "/auth/login",
            "grant_type=password&username=form-user&password=not-the-password",
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    let grant = c
        .post_form(
            "/auth/login",
            &format!(
                "grant_type=client_credentials&username=form-user&password={}",
                form_encode(password)
            ),
        )
        .await
        .expect_error(400, "invalid_field");
    assert_eq!(grant["field"], "grant_type", "{grant}");
    gw.stop().await;
}

/// Unix milliseconds of an RFC 3339 UTC time as the gateway writes it
/// (`2026-11-24T07:30:00.123Z`, fraction optional).
fn unix_ms(rfc3339: &str) -> i64 {
    let (date, time) = rfc3339
        .strip_suffix('Z')
        .and_then(|t| t.split_once('T'))
        .unwrap_or_else(|| panic!("not RFC 3339 UTC: {rfc3339}"));
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, day) = (d[0] - i64::from(d[1] <= 2), d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let millis: i64 = format!("{frac:0<3}")[..3].parse().unwrap();
    ((days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1000) + millis
}

/// A key's lifetime in seconds (expires_at - created_at), from its listing.
fn lifetime_secs(info: &Value) -> i64 {
    let created = unix_ms(info["created_at"].as_str().unwrap());
    let expires = unix_ms(info["expires_at"].as_str().unwrap());
    (expires - created + 500).div_euclid(1000)
}

#[tokio::test]
async fn create_api_key_flags_set_scopes_templates_and_expiry() {
    init_tracing();
    assert_eq!(unix_ms("1970-01-01T00:00:00.000Z"), 0);
    assert_eq!(unix_ms("2026-11-25T07:40:00.123Z"), 1_795_592_400_123);
    assert_eq!(unix_ms("2000-02-29T00:00:00Z"), 951_782_400_000);

    let scratch = TempDb::new();
    let mut shell = Shell::new(scratch.dir());
    let gw = AuthGateway::builder(MCPP)
        .subcommand(&["gateway", "start"])
        .database(&scratch)
        .start()
        .await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    let echo = EchoHttp::spawn(ECHO, 0, "k-1").await;
    for template in ["alpha", "beta"] {
        c.post(
            "/gateway/register",
            Cred::Bearer(&admin),
            &json!({"template_name": template, "endpoint": echo.url()}),
        )
        .await
        .expect_status(201);
    }
    shell.set("MCP_GATEWAY_URL", gw.base_url());
    shell.set("MCP_GATEWAY_TOKEN", admin.clone());
    let listed = |id: String| {
        let (c, admin) = (c.clone(), admin.clone());
        async move {
            let all = c
                .get("/auth/api-keys", Cred::Bearer(&admin))
                .await
                .expect_status(200);
            all["api_keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["id"] == id.as_str())
                .unwrap_or_else(|| panic!("key {id} not listed: {all}"))
                .clone()
        }
    };

    // Read-only, one template, two hours.
    let out = shell
        .ok("mcpp gateway create-api-key reader --scopes mcp:read --templates alpha --expires 2h")
        .await;
    let key = out
        .lines()
        .find(|l| l.starts_with("mcpgw_"))
        .unwrap_or_else(|| panic!("no key printed: {out}"))
        .to_owned();
    assert!(
        out.contains("scopes mcp:read, templates alpha, expires 20"),
        "{out}"
    );
    let id = key.split('_').nth(1).unwrap().to_owned();
    let info = listed(id).await;
    assert_eq!(info["name"], "reader", "{info}");
    assert_eq!(info["owner"], "admin", "{info}");
    assert_eq!(info["scopes"], json!(["mcp:read"]), "{info}");
    assert_eq!(info["templates"], json!(["alpha"]), "{info}");
    assert_eq!(lifetime_secs(&info), 2 * 3600, "{info}");
    // What the key may do is exactly that.
    let list = c.get("/mcp/alpha/tools/list", Cred::Key(&key)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    c.get("/mcp/beta/tools/list", Cred::Key(&key))
        .await
        .expect_error(403, "template_forbidden");
    let call = c
        .post(
            "/mcp/alpha/tools/call",
            Cred::Key(&key),
            &json!({"name": "echo", "arguments": {"message": "hi"}}),
        )
        .await
        .expect_error(403, "insufficient_scope");
    assert_eq!(call["required_scope"], "mcp:call", "{call}");
    let registry = c
        .get("/gateway/registry", Cred::Key(&key))
        .await
        .expect_error(403, "insufficient_scope");
    assert_eq!(registry["required_scope"], "gateway:read", "{registry}");

    // Comma-separated lists and days; --json shows the same record.
    let out = shell
        .ok("mcpp gateway create-api-key caller --scopes mcp:read,mcp:call --templates alpha,beta --expires 90d --json")
        .await;
    let created: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let key2 = created["key"].as_str().unwrap().to_owned();
    let info = listed(created["id"].as_str().unwrap().to_owned()).await;
    let mut scopes: Vec<&str> = info["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["mcp:call", "mcp:read"], "{info}");
    assert_eq!(info["templates"], json!(["alpha", "beta"]), "{info}");
    assert_eq!(lifetime_secs(&info), 90 * 86_400, "{info}");
    assert_eq!(created["expires_at"], info["expires_at"]);
    for template in ["alpha", "beta"] {
        let result = c
            .post(
                &format!("/mcp/{template}/tools/call"),
                Cred::Key(&key2),
                &json!({"name": "echo", "arguments": {"message": template}}),
            )
            .await
            .expect_status(200);
        assert_eq!(result["content"][0]["text"], template, "{result}");
    }

    // Without --expires the key never expires.
    let out = shell
        .ok("mcpp gateway create-api-key forever --scopes mcp:read --json")
        .await;
    let forever: Value = serde_json::from_str(&out).unwrap();
    assert!(forever["expires_at"].is_null(), "{forever}");
    assert!(forever["templates"].is_null(), "{forever}");

    // A bad duration is refused before anything is sent.
    let before = c
        .get("/auth/api-keys", Cred::Bearer(&admin))
        .await
        .expect_status(200)["count"]
        .clone();
    let bad = shell
        .sh("mcpp gateway create-api-key nope --scopes mcp:read --expires 2w")
        .await;
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("unknown unit"), "{}", bad.stderr);
    let after = c
        .get("/auth/api-keys", Cred::Bearer(&admin))
        .await
        .expect_status(200)["count"]
        .clone();
    assert_eq!(before, 3);
    assert_eq!(after, before, "no key created");

    // Without --role and --scopes a key gets the user preset, even from an admin:
    // `admin` and `gateway:write` only when asked for.
    let sorted = |created: &Value| {
        let mut scopes: Vec<String> = created["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        scopes.sort_unstable();
        scopes
    };
    let out = shell.ok("mcpp gateway create-api-key plain --json").await;
    let plain: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        sorted(&plain),
        ["gateway:read", "mcp:call", "mcp:read"],
        "{plain}"
    );
    // --role and --scopes combine (the README's example): the scopes narrow the role.
    let out = shell
        .ok("mcpp gateway create-api-key my-app --role user --scopes mcp:read --json")
        .await;
    let narrowed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(sorted(&narrowed), ["mcp:read"], "{narrowed}");
    let outside = shell
        .sh("mcpp gateway create-api-key wide --role user --scopes admin")
        .await;
    assert_ne!(outside.code, Some(0), "{outside:?}");
    assert!(outside.stderr.contains("scopes"), "{}", outside.stderr);
    gw.stop().await;
}
