//! Test harness for the black-box suites in `tests/`: locating the real third-party
//! servers that `scripts/test-deps` installs (with a loud skip, or a failure when
//! `MCP_GATEWAY_REQUIRE_DEPS=1`), spawning the echo fixture and the real gateway binary
//! ([`gateway::TestGateway`]: port 0, its own SQLite file, stopped with SIGTERM), raw
//! HTTP helpers ([`http::Http`]), running commands with a time limit ([`run`]), direct
//! MCP connections for comparisons ([`rpc`]), and process checks.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod auth;
pub mod fleet;
pub mod gateway;
pub mod http;
pub mod mcp;
pub mod oidc;
mod process;
mod proxy;
pub mod rpc;

pub use gateway::{TempDb, TestGateway};
pub use http::{Http, Reply};
pub use process::{Memory, Output, child_pids, memory, run};
pub use proxy::{retarget, serve_http1};

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `.mcp-test/`, where `scripts/test-deps` installs third-party servers.
pub fn deps_dir() -> PathBuf {
    repo_root().join(".mcp-test")
}

/// Returns `path` if it exists; otherwise skips loudly, or panics when
/// `MCP_GATEWAY_REQUIRE_DEPS=1` (CI) so a missing dependency never passes silently.
pub fn require(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let msg = format!(
        "{what} not found at {}: run scripts/test-deps",
        path.display()
    );
    if std::env::var("MCP_GATEWAY_REQUIRE_DEPS").as_deref() == Ok("1") {
        panic!("{msg} (MCP_GATEWAY_REQUIRE_DEPS=1 turns this skip into a failure)");
    }
    eprintln!("\n!!! SKIPPED: {msg}\n");
    None
}

/// `mcp-server-everything` (npm), if installed.
pub fn server_everything() -> Option<PathBuf> {
    require(
        deps_dir().join("node_modules/.bin/mcp-server-everything"),
        "@modelcontextprotocol/server-everything",
    )
}

/// `mcp-server-filesystem` (npm), if installed.
pub fn server_filesystem() -> Option<PathBuf> {
    require(
        deps_dir().join("node_modules/.bin/mcp-server-filesystem"),
        "@modelcontextprotocol/server-filesystem",
    )
}

/// `mcp-server-time` (PyPI), if installed.
pub fn server_time() -> Option<PathBuf> {
    require(
        deps_dir().join("venv/bin/mcp-server-time"),
        "mcp-server-time",
    )
}

/// The Python of `.mcp-test/venv` (has `openapi-spec-validator`), if installed.
pub fn venv_python() -> Option<PathBuf> {
    require(
        deps_dir().join("venv/bin/openapi-spec-validator"),
        "openapi-spec-validator",
    )?;
    Some(deps_dir().join("venv/bin/python"))
}

/// `schemathesis` in `.mcp-test/venv-fuzz`, if installed.
pub fn schemathesis() -> Option<PathBuf> {
    require(
        deps_dir().join("venv-fuzz/bin/schemathesis"),
        "schemathesis (.mcp-test/venv-fuzz)",
    )
}

/// The Python of `.mcp-test/venv-legacy`, where the predecessor's client
/// (`mcp-platform==1.2.0`) is installed, if present.
pub fn legacy_python() -> Option<PathBuf> {
    require(
        deps_dir().join("venv-legacy/bin/python"),
        "mcp-platform==1.2.0 (.mcp-test/venv-legacy)",
    )
}

/// Installs rustls' ring provider (reqwest is built without a default one).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Polls `check` every 50 ms until it returns true; panics after `within`.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The folder server-filesystem is allowed to read (holds `hello.txt`).
pub fn fs_root() -> PathBuf {
    deps_dir().join("fsroot")
}

/// Logs to the test's output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A free loopback port (bound then released; fine for servers that cannot take port 0).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port`.
pub async fn wait_for_port(port: u16, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing listens on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A running echo fixture over HTTP.
pub struct EchoHttp {
    pub child: Child,
    pub port: u16,
}

impl EchoHttp {
    /// Starts `bin --http 127.0.0.1:<port>` (port 0 = any) and waits for its banner.
    pub async fn spawn(bin: &str, port: u16, instance_id: &str) -> EchoHttp {
        EchoHttp::spawn_with(bin, port, instance_id, &[]).await
    }

    /// [`EchoHttp::spawn`] with `extra` arguments (e.g. `--record-requests`).
    pub async fn spawn_with(bin: &str, port: u16, instance_id: &str, extra: &[&str]) -> EchoHttp {
        let mut child = Command::new(bin)
            .args([
                "--http",
                &format!("127.0.0.1:{port}"),
                "--instance-id",
                instance_id,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("echo fixture did not start")
            .unwrap()
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/mcp"))
            .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
            .parse()
            .unwrap();
        EchoHttp { child, port }
    }

    /// The MCP endpoint URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// What a fixture started with `--record-requests` received: `{"method", "tool",
    /// "authorization", "traceparent", "meta"}` per JSON-RPC request, oldest first (the
    /// last 256).
    pub async fn recorded(&self) -> Vec<serde_json::Value> {
        let body: serde_json::Value =
            reqwest::get(format!("http://127.0.0.1:{}/__test/requests", self.port))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        body["requests"].as_array().cloned().unwrap_or_default()
    }

    /// SIGKILLs the process and reaps it.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// Children of this process that have exited but were not reaped.
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command: state, ppid, ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me && state == "Z" {
            zombies.push(pid);
        }
    }
    zombies
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
