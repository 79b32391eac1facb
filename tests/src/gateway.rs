//! [`TestGateway`]: the real gateway binary on port 0 with its own SQLite file, stopped
//! with SIGTERM like an operator would.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    sync::Arc,
    time::Duration,
};

use nix::{sys::signal::Signal, unistd::Pid};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::http::{Http, Reply};

/// How long a gateway may take to print its banner (migrations, stdio spawns).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long instances may take to be reported healthy or unhealthy.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a graceful shutdown may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A temporary directory holding one gateway database file. Clone it to restart a
/// gateway on the same database.
#[derive(Clone)]
pub struct TempDb {
    dir: Arc<tempfile::TempDir>,
}

impl TempDb {
    /// A fresh, empty directory.
    pub fn new() -> TempDb {
        TempDb {
            dir: Arc::new(
                tempfile::Builder::new()
                    .prefix("gw-e2e-")
                    .tempdir()
                    .unwrap(),
            ),
        }
    }

    /// The directory (also usable as a scratch space and as `XDG_DATA_HOME`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The database file.
    pub fn path(&self) -> PathBuf {
        self.dir().join("gateway.db")
    }

    /// `sqlite:///…/gateway.db`.
    pub fn url(&self) -> String {
        format!("sqlite://{}", self.path().display())
    }
}

impl Default for TempDb {
    fn default() -> Self {
        Self::new()
    }
}

/// How to start a [`TestGateway`].
pub struct GatewayBuilder {
    program: PathBuf,
    prefix: Vec<String>,
    db: Option<TempDb>,
    pass_listen: bool,
    pass_database: bool,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    stdio_registration: bool,
}

impl GatewayBuilder {
    /// Keep the gateway's default of refusing stdio commands over the API. Without this
    /// the harness starts gateways with `MCP_GATEWAY_ALLOW_STDIO_REGISTRATION=1`, as an
    /// operator who opted in would: most suites register stdio fixtures over the API.
    pub fn without_stdio_registration(mut self) -> Self {
        self.stdio_registration = false;
        self
    }

    /// Arguments placed before the gateway flags (e.g. `gateway start` for `mcpp`).
    pub fn subcommand(mut self, words: &[&str]) -> Self {
        self.prefix = words.iter().map(|w| (*w).to_owned()).collect();
        self
    }

    /// Use this database (to restart on the same file).
    pub fn database(mut self, db: &TempDb) -> Self {
        self.db = Some(db.clone());
        self
    }

    /// Pass no flags at all (not even `--host`/`--port`): the caller configures the
    /// gateway through [`GatewayBuilder::env`] (e.g. `MCP_GATEWAY_PORT=0`) or its own
    /// [`GatewayBuilder::arg`]s, as a user following the guide would.
    pub fn no_default_flags(mut self) -> Self {
        self.pass_listen = false;
        self.pass_database = false;
        self
    }

    /// An extra flag or value.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Extra flags and values.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable for the gateway.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.envs.push((key.to_owned(), value.into()));
        self
    }

    /// Spawns the gateway and waits for `mcp-gateway listening on http(s)://ADDR`.
    pub async fn start(self) -> TestGateway {
        crate::install_crypto_provider();
        let db = self.db.unwrap_or_default();
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.prefix);
        if self.pass_listen {
            cmd.args(["--host", "127.0.0.1", "--port", "0"]);
        }
        if self.pass_database {
            cmd.args(["--database", &db.url()]);
        }
        cmd.args(&self.args);
        // Hermetic: no MCP_GATEWAY_* from the developer's shell, data under the temp dir.
        for (key, _) in std::env::vars() {
            if key.starts_with("MCP_GATEWAY_") {
                cmd.env_remove(key);
            }
        }
        if self.stdio_registration {
            cmd.env("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION", "1");
        }
        cmd.env("XDG_DATA_HOME", db.dir())
            .env("XDG_STATE_HOME", db.dir())
            .env("HOME", db.dir())
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", self.program.display()));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(listening) = parse_listening(&line) {
                    return Some(listening);
                }
                eprintln!("[gateway stdout] {line}");
            }
            None
        })
        .await
        .unwrap_or_else(|_| panic!("the gateway printed no banner within {START_TIMEOUT:?}"));
        let Some((scheme, addr)) = addr else {
            let status = child.wait().await.unwrap();
            panic!("the gateway exited before listening: {status}");
        };
        // Keep draining stdout so the gateway never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[gateway stdout] {line}");
            }
        });
        TestGateway {
            child: Some(child),
            addr,
            scheme,
            db,
        }
    }
}

/// `mcp-gateway listening on http://127.0.0.1:PORT` (or `https://`) → the address.
pub fn parse_banner(line: &str) -> Option<SocketAddr> {
    parse_listening(line).map(|(_, addr)| addr)
}

/// `mcp-gateway listening on SCHEME://ADDR` → the scheme (`http` or `https`) and address.
pub fn parse_listening(line: &str) -> Option<(&'static str, SocketAddr)> {
    let url = line.trim().strip_prefix("mcp-gateway listening on ")?;
    let (scheme, rest) = match url.split_once("://")? {
        ("http", rest) => ("http", rest),
        ("https", rest) => ("https", rest),
        _ => return None,
    };
    Some((scheme, rest.trim_end_matches('/').parse().ok()?))
}

/// A running gateway process.
pub struct TestGateway {
    child: Option<Child>,
    /// The bound address.
    pub addr: SocketAddr,
    /// `http`, or `https` when the gateway serves TLS.
    pub scheme: &'static str,
    db: TempDb,
}

impl TestGateway {
    /// A builder for `program` (the `gw-server-e2e` or `mcpp-e2e` binary).
    pub fn builder(program: impl AsRef<Path>) -> GatewayBuilder {
        GatewayBuilder {
            program: program.as_ref().to_path_buf(),
            prefix: Vec::new(),
            db: None,
            pass_listen: true,
            pass_database: true,
            args: Vec::new(),
            envs: Vec::new(),
            stdio_registration: true,
        }
    }

    /// Starts `program` with a fresh database.
    pub async fn start(program: impl AsRef<Path>) -> TestGateway {
        Self::builder(program).start().await
    }

    /// `http://127.0.0.1:PORT` (loopback even when bound to all interfaces; `https`
    /// when the gateway serves TLS).
    pub fn base_url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.addr.port())
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The database this gateway uses.
    pub fn db(&self) -> &TempDb {
        &self.db
    }

    /// A client for this gateway.
    pub fn http(&self) -> Http {
        Http::new(&self.base_url())
    }

    /// The gateway's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().and_then(Child::id).unwrap()
    }

    /// Live child processes of the gateway (its stdio upstreams).
    pub fn children(&self) -> Vec<u32> {
        crate::child_pids(self.pid())
    }

    /// `POST /gateway/register`, asserting 201; returns the instance.
    pub async fn register(&self, body: Value) -> Value {
        self.http()
            .post("/gateway/register", &body)
            .await
            .expect_status(201)
    }

    /// `POST /mcp/{template}/tools/call`, asserting 200; returns the result.
    pub async fn call_tool(&self, template: &str, name: &str, arguments: Value) -> Value {
        self.try_call_tool(template, name, arguments)
            .await
            .expect_status(200)
    }

    /// `POST /mcp/{template}/tools/call`, whatever the answer (error cases).
    pub async fn try_call_tool(&self, template: &str, name: &str, arguments: Value) -> Reply {
        self.http()
            .post(
                &format!("/mcp/{template}/tools/call"),
                &serde_json::json!({"name": name, "arguments": arguments}),
            )
            .await
    }

    /// The instance id that answered `whoami` through `template`.
    pub async fn whoami(&self, template: &str) -> String {
        let r = self
            .call_tool(template, "whoami", serde_json::json!({}))
            .await;
        r["content"][0]["text"].as_str().unwrap().to_owned()
    }

    /// Waits (bounded) until `template` has exactly `n` instances, all reported
    /// `healthy` by `/mcp/{template}/health`: the state in which balancing is exact.
    pub async fn wait_healthy(&self, template: &str, n: usize) {
        let http = self.http();
        let path = format!("/mcp/{template}/health");
        let deadline = tokio::time::Instant::now() + HEALTH_TIMEOUT;
        loop {
            let health = http.get(&path).await.expect_status(200);
            let ready = health["instances"].as_object().is_some_and(|m| {
                m.len() == n
                    && m.values()
                        .all(|i| i["healthy"] == true && i["status"] == "healthy")
            });
            if ready {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{template} did not report {n} healthy instances within {HEALTH_TIMEOUT:?}: {health}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `tools/list` requests to `template` (whose failures the gateway observes)
    /// until `/mcp/{template}/health` reports `instance` unhealthy; returns that report.
    pub async fn wait_unhealthy(&self, template: &str, instance: &str) -> Value {
        let http = self.http();
        let deadline = tokio::time::Instant::now() + HEALTH_TIMEOUT;
        loop {
            let _ = http.get(&format!("/mcp/{template}/tools/list")).await;
            let health = http
                .get(&format!("/mcp/{template}/health"))
                .await
                .expect_status(200);
            if health["instances"][instance]["healthy"] == false {
                return health;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{instance} still healthy after {HEALTH_TIMEOUT:?}: {health}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `signal` to the gateway.
    pub fn signal(&self, signal: Signal) {
        let pid = i32::try_from(self.pid()).unwrap();
        nix::sys::signal::kill(Pid::from_raw(pid), signal).unwrap();
    }

    /// SIGTERM, then waits (bounded) for the exit; returns the exit status.
    pub async fn stop(mut self) -> ExitStatus {
        self.signal(Signal::SIGTERM);
        let mut child = self.child.take().unwrap();
        match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => {
                child.kill().await.unwrap();
                panic!("the gateway did not exit within {STOP_TIMEOUT:?} of SIGTERM");
            }
        }
    }

    /// Waits (bounded) for the gateway to exit on its own, e.g. after [`TestGateway::signal`];
    /// returns the exit status. Panics (after killing it) if it is still running after
    /// `within`.
    pub async fn wait_exit(mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        match tokio::time::timeout(within, child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => {
                child.kill().await.unwrap();
                panic!("the gateway did not exit within {within:?}");
            }
        }
    }

    /// SIGKILL (a crash), then reaps the process.
    pub async fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().await.unwrap();
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        // A test that panicked: give the gateway a chance to stop its stdio children,
        // then make sure it is gone.
        let Some(child) = self.child.as_mut() else {
            return;
        };
        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
            for _ in 0..40 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = child.start_kill();
    }
}
