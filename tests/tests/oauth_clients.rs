//! Clients of the gateway's OAuth resource server against a real OpenID provider: the
//! official Python `mcp` SDK's OAuth flow (discovering everything from the gateway's 401
//! and metadata) and `mcpp gateway login --oidc` (authorization code + PKCE with a
//! loopback redirect, the device grant, refresh, refusal of an untrusted issuer).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_e2e::oidc::{OAuthEnv, claims_of};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn the_python_sdk_discovers_everything_and_calls_a_tool() {
    let Some(python) = gateway_e2e::venv_python() else {
        return;
    };
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    let url = format!("{}/mcp/alpha", env.gw.base_url());
    let script = gateway_e2e::repo_root().join("tests/python/oauth_client.py");
    let out = gateway_e2e::run(
        &python,
        [
            script.display().to_string(),
            url.clone(),
            "bob".into(),
            "echo".into(),
            r#"{"message": "hi"}"#.into(),
        ],
        &[("PYTHONDONTWRITEBYTECODE", "1")],
        Duration::from_secs(90),
    )
    .await;
    let stdout = out.expect_success();
    let r: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let what = format!("{r}\n{}", out.stderr);
    assert_eq!(r["content"], json!(["hi"]), "{what}");
    assert_eq!(r["is_error"], false, "{what}");
    assert!(
        r["tools"].as_array().unwrap().contains(&json!("echo")),
        "{what}"
    );
    // The token: for bob, from the provider, naming the endpoint (RFC 8707), with the
    // scopes of the challenge, for a client the SDK registered itself.
    let claims = &r["claims"];
    assert_eq!(claims["sub"], "bob", "{what}");
    assert_eq!(claims["iss"], env.provider.issuer, "{what}");
    assert_eq!(claims["aud"], url, "{what}");
    let scope = claims["scope"].as_str().unwrap();
    assert!(
        scope.contains("mcp:read") && scope.contains("mcp:call"),
        "{what}"
    );
    assert!(!["gw-public", "gw-service"].contains(&claims["client_id"].as_str().unwrap()));
    // Discovery went through the challenge's metadata URL, then the provider's metadata
    // and registration, before the first authenticated request.
    let requests: Vec<&str> = r["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let position = |needle: &str| {
        requests
            .iter()
            .position(|r| r.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not requested: {requests:#?}"))
    };
    let metadata = position(&format!(
        "GET {}/.well-known/oauth-protected-resource/mcp/alpha",
        env.gw.base_url()
    ));
    let provider = position(&format!("GET {}/.well-known/", env.provider.issuer));
    let registration = position(&format!("POST {}/reg", env.provider.issuer));
    let token = position(&format!("POST {}/token", env.provider.issuer));
    assert!(
        metadata < provider && provider < registration && registration < token,
        "{requests:#?}"
    );
}

const MCPP: &str = env!("CARGO_BIN_EXE_mcpp-e2e");

/// `mcpp gateway ARGS [--gateway-url URL]` (none when empty) with its configuration
/// (token) under `config`.
fn mcpp(config: &std::path::Path, gateway_url: &str, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(MCPP);
    cmd.arg("gateway").args(args);
    if !gateway_url.is_empty() {
        cmd.args(["--gateway-url", gateway_url]);
    }
    cmd.env("XDG_CONFIG_HOME", config)
        .env("HOME", config)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("MCP_GATEWAY_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs a verb to completion; panics unless it succeeds. Returns stdout.
async fn mcpp_ok(config: &std::path::Path, gateway_url: &str, args: &[&str]) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        mcpp(config, gateway_url, args).output(),
    )
    .await
    .unwrap()
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "mcpp {args:?}: {stdout}\n{stderr}");
    stdout
}

/// The next stdout line of `child` that `pick` accepts (what `pick` returns).
async fn read_until<T>(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    mut pick: impl FnMut(&str) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let line = lines.next_line().await.unwrap().expect("mcpp ended early");
            if let Some(found) = pick(&line) {
                return found;
            }
        }
    })
    .await
    .expect("mcpp printed nothing expected")
}

#[tokio::test]
async fn mcpp_logs_in_through_the_provider_and_refreshes_its_token() {
    use tokio::io::AsyncBufReadExt;
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    let config = tempfile::tempdir().unwrap();
    let gw = env.gw.base_url();
    let mut login = mcpp(
        config.path(),
        &gw,
        &[
            "login",
            "--oidc",
            &env.provider.issuer,
            "--client-id",
            "gw-public",
            "--no-browser",
        ],
    )
    .spawn()
    .unwrap();
    let mut lines = tokio::io::BufReader::new(login.stdout.take().unwrap()).lines();
    let url = read_until(&mut lines, |l| l.starts_with("http").then(|| l.to_owned())).await;
    let params = gateway_e2e::oidc::query_of(&url);
    // What the CLI discovered from the gateway's metadata: the resource, its scopes (and
    // offline_access, which the provider supports), PKCE, a loopback redirect.
    assert_eq!(params["resource"], gw, "{url}");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(
        params["scope"],
        "mcp:read mcp:call gateway:read gateway:write admin offline_access"
    );
    let redirect = params["redirect_uri"].clone();
    assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"));
    // The test is the browser; the last redirect goes to the CLI's listener.
    let landing = gateway_e2e::oidc::Browser::new()
        .sign_in(&url, "admin-cli", &redirect)
        .await;
    let page = reqwest::get(&landing).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("Logged in"));
    let status = tokio::time::timeout(Duration::from_secs(30), login.wait())
        .await
        .unwrap()
        .unwrap();
    let mut rest = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push_str(&line);
    }
    assert!(status.success(), "{rest}");
    assert!(
        rest.contains(&format!(
            "logged in through {} as admin-cli",
            env.provider.issuer
        )),
        "{rest}"
    );
    let token_file = config.path().join("mcp-gateway/token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    let claims = claims_of(token.trim());
    assert_eq!(
        (claims["sub"].as_str(), claims["aud"].as_str()),
        (Some("admin-cli"), Some(gw.as_str()))
    );
    // Stored as the password login stores its token: readable by the user only.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The other verbs use it (admin-cli is in gateway-admins).
    let users = mcpp_ok(config.path(), &gw, &["list-users"]).await;
    assert!(users.contains("admin"), "{users}");

    // Near expiry, the stored refresh token gets a new access token first.
    let session_file = config.path().join("mcp-gateway/oidc-session.json");
    let mut session: Value =
        serde_json::from_str(&std::fs::read_to_string(&session_file).unwrap()).unwrap();
    assert!(session["refresh_token"].is_string(), "{session}");
    session["expires_at"] = json!(1);
    std::fs::write(&session_file, session.to_string()).unwrap();
    let users = mcpp_ok(config.path(), &gw, &["list-users"]).await;
    assert!(users.contains("admin"), "{users}");
    let refreshed = std::fs::read_to_string(&token_file).unwrap();
    assert_ne!(refreshed, token, "the token was refreshed");
    let session: Value =
        serde_json::from_str(&std::fs::read_to_string(&session_file).unwrap()).unwrap();
    assert!(session["expires_at"].as_u64().unwrap() > now(), "{session}");

    // Logging out forgets both.
    mcpp_ok(config.path(), "", &["logout"]).await;
    assert!(!token_file.exists() && !session_file.exists());
}

#[tokio::test]
async fn mcpp_logs_in_with_the_device_grant() {
    use tokio::io::AsyncBufReadExt;
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    let config = tempfile::tempdir().unwrap();
    let gw = env.gw.base_url();
    let mut login = mcpp(
        config.path(),
        &gw,
        &[
            "login",
            "--oidc",
            &env.provider.issuer,
            "--client-id",
            "gw-public",
            "--device",
        ],
    )
    .spawn()
    .unwrap();
    let mut lines = tokio::io::BufReader::new(login.stdout.take().unwrap()).lines();
    let code = read_until(&mut lines, |l| {
        l.strip_prefix("To log in, open ")
            .and_then(|rest| rest.split(" and enter the code ").nth(1))
            .map(str::to_owned)
    })
    .await;
    let complete = read_until(&mut lines, |l| {
        l.strip_prefix("(or open ")
            .and_then(|rest| rest.strip_suffix(')'))
            .map(str::to_owned)
    })
    .await;
    assert!(
        complete.contains(&code.replace('-', "")) || complete.contains(&code),
        "{complete}"
    );
    // On "another device": confirm the code, sign in, consent.
    let page = gateway_e2e::oidc::Browser::new()
        .complete(&complete, "admin-device")
        .await;
    assert!(
        page.to_lowercase().contains("sign-in success") || page.contains("success"),
        "{page}"
    );
    let status = tokio::time::timeout(Duration::from_secs(60), login.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let token = std::fs::read_to_string(config.path().join("mcp-gateway/token")).unwrap();
    assert_eq!(claims_of(token.trim())["sub"], "admin-device");
    let users = mcpp_ok(config.path(), &gw, &["list-users"]).await;
    assert!(users.contains("admin"), "{users}");
}

#[tokio::test]
async fn mcpp_refuses_an_issuer_the_gateway_does_not_trust() {
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    let config = tempfile::tempdir().unwrap();
    let out = mcpp(
        config.path(),
        &env.gw.base_url(),
        &[
            "login",
            "--oidc",
            "https://other.example.com",
            "--no-browser",
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not trust https://other.example.com")
            && stderr.contains(&env.provider.issuer),
        "{stderr}"
    );
    assert!(!config.path().join("mcp-gateway/token").exists());
}
