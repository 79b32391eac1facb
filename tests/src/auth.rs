//! Helpers for the `auth_*` suites: [`AuthGateway`] (the real gateway with `--auth`, its
//! stderr captured to a file so tests can grep the log), [`Client`] (raw HTTP with a
//! chosen credential), JWT forging for attack cases, and a recording TCP tap that shows
//! exactly what the gateway sent to an upstream.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use nix::{sys::signal::Signal, unistd::Pid};
use serde_json::{Value, json};
use sha2::{Sha256, Sha512};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    process::{Child, Command},
    sync::Mutex,
};

use crate::{TempDb, gateway::parse_listening, http::Reply};

/// The JWT secret the auth suites configure (so they can forge tokens).
pub const JWT_SECRET: &str = "e2e-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
/// The first admin's password.
pub const ADMIN_PASSWORD: &str = "admin-password-e2e";
/// A password that satisfies the policy.
pub const USER_PASSWORD: &str = "user-password-e2e";

/// How long a gateway may take to print its banner.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start an [`AuthGateway`].
pub struct AuthGatewayBuilder {
    program: PathBuf,
    prefix: Vec<String>,
    db: Option<TempDb>,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    defaults: bool,
    database_url: Option<String>,
}

impl AuthGatewayBuilder {
    /// Use this database URL (a shared PostgreSQL or MariaDB database of a fleet)
    /// instead of the temp directory's SQLite file.
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Words before the flags (`gateway start` for `mcpp`).
    pub fn subcommand(mut self, words: &[&str]) -> Self {
        self.prefix = words.iter().map(|w| (*w).to_owned()).collect();
        self
    }

    /// Use this database.
    pub fn database(mut self, db: &TempDb) -> Self {
        self.db = Some(db.clone());
        self
    }

    /// An extra flag.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// An environment variable.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.envs.push((key.to_owned(), value.into()));
        self
    }

    /// No `--auth`, known JWT secret, admin password or bcrypt cost: only what the test
    /// passes (plus `--port 0 --database`).
    pub fn bare(mut self) -> Self {
        self.defaults = false;
        self
    }

    /// Spawns the gateway; waits for its banner. Panics (showing stderr) if it exits.
    pub async fn start(self) -> AuthGateway {
        self.try_start()
            .await
            .unwrap_or_else(|(code, stderr)| panic!("gateway exited ({code:?}):\n{stderr}"))
    }

    /// Spawns the gateway; `Err((exit code, stderr))` if it exits before listening.
    pub async fn try_start(self) -> Result<AuthGateway, (Option<i32>, String)> {
        crate::install_crypto_provider();
        let db = self.db.unwrap_or_default();
        let stderr_path = db.dir().join(format!(
            "gateway-{}.stderr",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = Command::new(&self.program);
        let database = self.database_url.clone().unwrap_or_else(|| db.url());
        cmd.args(&self.prefix)
            .args(["--port", "0", "--database", &database]);
        if self.defaults {
            cmd.arg("--auth");
        }
        cmd.args(&self.args);
        for (key, _) in std::env::vars() {
            if key.starts_with("MCP_GATEWAY_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        if self.defaults {
            cmd.env("MCP_GATEWAY_BCRYPT_COST", "4")
                .env("MCP_GATEWAY_JWT_SECRET", JWT_SECRET)
                .env("MCP_GATEWAY_ADMIN_PASSWORD", ADMIN_PASSWORD);
        }
        cmd.env("XDG_DATA_HOME", db.dir())
            .env("XDG_STATE_HOME", db.dir())
            .env("XDG_CONFIG_HOME", db.dir().join("config"))
            .env("HOME", db.dir())
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(listening) = parse_listening(&line) {
                    return Some(listening);
                }
            }
            None
        })
        .await
        .expect("the gateway printed no banner in time");
        let Some((scheme, addr)) = addr else {
            let status = child.wait().await.unwrap();
            return Err((
                status.code(),
                std::fs::read_to_string(&stderr_path).unwrap_or_default(),
            ));
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(AuthGateway {
            child: Some(child),
            addr,
            scheme,
            db,
            stderr_path,
        })
    }
}

/// A running gateway whose stderr goes to a file.
pub struct AuthGateway {
    child: Option<Child>,
    /// The bound address.
    pub addr: SocketAddr,
    /// `http`, or `https` when the gateway serves TLS.
    pub scheme: &'static str,
    db: TempDb,
    stderr_path: PathBuf,
}

impl AuthGateway {
    /// A builder for `program` with `--auth`, [`JWT_SECRET`], [`ADMIN_PASSWORD`] and bcrypt
    /// cost 4 (tests only; release builds refuse costs below 12).
    pub fn builder(program: impl AsRef<Path>) -> AuthGatewayBuilder {
        AuthGatewayBuilder {
            program: program.as_ref().to_path_buf(),
            prefix: Vec::new(),
            db: None,
            args: Vec::new(),
            envs: Vec::new(),
            defaults: true,
            database_url: None,
        }
    }

    /// `http://127.0.0.1:PORT` (`https` when the gateway serves TLS).
    pub fn base_url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.addr.port())
    }

    /// The database directory.
    pub fn db(&self) -> &TempDb {
        &self.db
    }

    /// Everything the gateway wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// A client.
    pub fn client(&self) -> Client {
        Client::new(&self.base_url())
    }

    /// SIGKILL (a crash), then reaps the process.
    pub async fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGTERM and wait.
    pub async fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        if let Some(pid) = child.id() {
            let _ =
                nix::sys::signal::kill(Pid::from_raw(i32::try_from(pid).unwrap()), Signal::SIGTERM);
        }
        let _ = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
        let _ = child.start_kill();
    }
}

impl Drop for AuthGateway {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// Which credential a request carries.
#[derive(Clone, Copy, Debug)]
pub enum Cred<'a> {
    /// None.
    None,
    /// `Authorization: Bearer <value>`.
    Bearer(&'a str),
    /// `X-API-Key: <value>`.
    Key(&'a str),
    /// Any header.
    Header(&'a str, &'a str),
}

/// Raw HTTP with a chosen credential per request.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    /// A client for `base`.
    pub fn new(base: &str) -> Client {
        crate::install_crypto_provider();
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// A client for `base` whose connections come from `local` (any 127.0.0.0/8 address
    /// reaches a gateway on 127.0.0.1: a second client address without a proxy).
    pub fn with_local_address(base: &str, local: std::net::IpAddr) -> Client {
        crate::install_crypto_provider();
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .local_address(local)
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// `POST /auth/login` (JSON) with an `X-Forwarded-For` header → the reply.
    pub async fn login_via(&self, forwarded_for: &str, username: &str, password: &str) -> Reply {
        self.send(
            "POST",
            "/auth/login",
            Cred::Header("x-forwarded-for", forwarded_for),
            Some(&json!({"username": username, "password": password})),
        )
        .await
    }

    /// Sends `method path` with `cred` and an optional JSON body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        cred: Cred<'_>,
        body: Option<&Value>,
    ) -> Reply {
        let method: reqwest::Method = method.parse().unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        request = match cred {
            Cred::None => request,
            Cred::Bearer(token) => request.header("authorization", format!("Bearer {token}")),
            Cred::Key(key) => request.header("x-api-key", key),
            Cred::Header(name, value) => request.header(name, value),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Reply {
            status,
            headers,
            text,
        }
    }

    /// `GET`.
    pub async fn get(&self, path: &str, cred: Cred<'_>) -> Reply {
        self.send("GET", path, cred, None).await
    }

    /// `POST` JSON.
    pub async fn post(&self, path: &str, cred: Cred<'_>, body: &Value) -> Reply {
        self.send("POST", path, cred, Some(body)).await
    }

    /// `POST` a form body.
    pub async fn post_form(&self, path: &str, form: &str) -> Reply {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Reply {
            status,
            headers,
            text,
        }
    }

    /// `POST /auth/login` (JSON) → the reply.
    pub async fn login_reply(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/auth/login",
            Cred::None,
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// Logs in; panics unless it works. Returns the token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let body = self
            .login_reply(username, password)
            .await
            .expect_status(200);
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates a user as `admin_token`; panics unless 201.
    pub async fn create_user(
        &self,
        admin_token: &str,
        name: &str,
        role: &str,
        templates: Option<&[&str]>,
    ) {
        let mut body = json!({"username": name, "password": USER_PASSWORD, "role": role});
        if let Some(t) = templates {
            body["templates"] = json!(t);
        }
        self.post("/auth/users", Cred::Bearer(admin_token), &body)
            .await
            .expect_status(201);
    }

    /// Creates an API key with `cred`; panics unless 201. Returns (key, id).
    pub async fn create_key(&self, cred: Cred<'_>, body: Value) -> (String, String) {
        let created = self
            .post("/auth/api-keys", cred, &body)
            .await
            .expect_status(201);
        (
            created["key"].as_str().unwrap().to_owned(),
            created["id"].as_str().unwrap().to_owned(),
        )
    }
}

/// An HS-signed JWT with any header and claims (`alg` picks HS256 or HS512; anything
/// else gets the HS256 signature).
pub fn forge_jwt(secret: &[u8], header: &Value, claims: &Value) -> String {
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{head}.{body}");
    let signature = if header["alg"] == "HS512" {
        let mut mac = Hmac::<Sha512>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Claims like the gateway issues for `sub`, with token version 0 (real users start at
/// a random version: override `ver` for a token that must be accepted), with
/// `overrides` applied (`null` removes a claim).
pub fn claims(sub: &str, overrides: Value) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut c = json!({
        "sub": sub, "role": "admin", "scopes": ["admin"], "iat": now, "exp": now + 600,
        "jti": "forged", "iss": "mcp-gateway", "aud": "mcp-gateway", "ver": 0
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

/// A TCP forwarder in front of an upstream that records every byte the gateway sends.
pub struct Tap {
    /// Where the gateway should connect.
    pub port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl Tap {
    /// Forwards `127.0.0.1:<new port>` to `127.0.0.1:upstream_port`.
    pub async fn start(upstream_port: u16) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(("127.0.0.1", upstream_port)).await
                    else {
                        return;
                    };
                    let (mut in_read, mut in_write) = inbound.into_split();
                    let (mut out_read, mut out_write) = outbound.into_split();
                    let up = async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match in_read.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            log.lock().await.extend_from_slice(&buf[..n]);
                            if out_write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = out_write.shutdown().await;
                    };
                    let down = async move {
                        let _ = tokio::io::copy(&mut out_read, &mut in_write).await;
                        let _ = in_write.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        Tap { port, sent }
    }

    /// Everything sent to the upstream so far, as text.
    pub async fn sent(&self) -> String {
        String::from_utf8_lossy(&self.sent.lock().await).into_owned()
    }
}
