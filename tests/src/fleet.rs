//! Pieces of a fleet for `tests/tests/fleet*.rs`: a fresh PostgreSQL schema or MariaDB
//! database per test ([`SharedDb`]), a real HAProxy in front of the replicas
//! ([`Haproxy`]), a private Redis the test can stop and start ([`RedisServer`]), and
//! replicas of the real gateway binary on a shared database ([`Replica`]). Missing
//! tools or databases skip loudly (a failure with `MCP_GATEWAY_REQUIRE_DEPS=1`).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::process::{Child, Command};

use crate::{
    TempDb,
    auth::{ADMIN_PASSWORD, AuthGateway, JWT_SECRET},
    free_port, wait_for_port,
};

/// Skips loudly, or panics under `MCP_GATEWAY_REQUIRE_DEPS=1`.
pub fn skip(msg: &str) {
    if std::env::var("MCP_GATEWAY_REQUIRE_DEPS").as_deref() == Ok("1") {
        panic!("{msg} (MCP_GATEWAY_REQUIRE_DEPS=1 turns this skip into a failure)");
    }
    eprintln!("\n!!! SKIPPED: {msg}\n");
}

/// A program on `PATH` or in the usual system directories, if installed.
pub fn program(name: &str, package: &str) -> Option<PathBuf> {
    let dirs = std::env::var("PATH").unwrap_or_default();
    let found = dirs
        .split(':')
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        skip(&format!(
            "{name} not installed (Debian package {package}; scripts/test-deps installs it)"
        ));
    }
    found
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}_{}_{:x}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff
    )
}

/// A database shared by the replicas of one test, dropped at the end.
pub struct SharedDb {
    /// What the replicas get as `--database`.
    pub url: String,
    drop_sql: (String, String),
}

const PG_BASE: &str = "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_SERVER: &str = "mysql://root@127.0.0.1:3306";

impl SharedDb {
    /// A fresh schema in the local PostgreSQL (`psql` as `postgres`, database `test`).
    pub async fn postgres() -> Option<SharedDb> {
        let schema = unique("gw_fleet");
        if !psql(&format!("CREATE SCHEMA {schema}")).await {
            skip("PostgreSQL not reachable at 127.0.0.1:5432 (with psql)");
            return None;
        }
        Some(SharedDb {
            url: format!("{PG_BASE}?options=-c%20search_path%3D{schema}"),
            drop_sql: ("psql".into(), format!("DROP SCHEMA {schema} CASCADE")),
        })
    }

    /// A fresh database in the local MariaDB/MySQL (`mysql` as root).
    pub async fn mysql() -> Option<SharedDb> {
        let database = unique("gw_fleet");
        if !mysql(&format!("CREATE DATABASE {database}")).await {
            skip("MariaDB/MySQL not reachable at 127.0.0.1:3306 (with the mysql client)");
            return None;
        }
        Some(SharedDb {
            url: format!("{MYSQL_SERVER}/{database}"),
            drop_sql: ("mysql".into(), format!("DROP DATABASE {database}")),
        })
    }

    /// Drops the schema or database.
    pub async fn drop(self) {
        let (tool, sql) = &self.drop_sql;
        let ok = match tool.as_str() {
            "psql" => psql(sql).await,
            _ => mysql(sql).await,
        };
        assert!(ok, "cannot run {sql}");
    }
}

/// Runs SQL with `psql` on the test database.
pub async fn psql(sql: &str) -> bool {
    Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-q",
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .is_ok_and(|o| o.status.success())
}

async fn mysql(sql: &str) -> bool {
    Command::new("mysql")
        .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-e", sql])
        .stdin(Stdio::null())
        .output()
        .await
        .is_ok_and(|o| o.status.success())
}

/// A replica: the real gateway with authentication on ([`JWT_SECRET`],
/// [`ADMIN_PASSWORD`]), on `db`, with `envs` (e.g. `MCP_GATEWAY_REDIS_URL`). Its stderr
/// goes to a file ([`AuthGateway::stderr`]).
pub async fn replica(program: &str, db: &SharedDb, id: &str, envs: &[(&str, &str)]) -> AuthGateway {
    let mut builder = AuthGateway::builder(program)
        .database(&TempDb::new())
        .database_url(&db.url)
        .env("MCP_GATEWAY_REPLICA_ID", id)
        .env("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION", "1");
    for (k, v) in envs {
        builder = builder.env(k, *v);
    }
    builder.start().await
}

/// A real HAProxy: round robin over the replicas, health-checked on `/gateway/ready`
/// every 200 ms, a failed connection or empty answer retried on another replica, and
/// the serving replica's name in `X-Served-By`.
pub struct Haproxy {
    child: Child,
    /// The port clients use.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// Starts HAProxy in front of `backends` (`name`, port), or `None` (skipped) when it
    /// is not installed.
    pub async fn start(backends: &[(&str, u16)]) -> Option<Haproxy> {
        let bin = program("haproxy", "haproxy")?;
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let mut config = format!(
            "global\n  maxconn 2000\n\n\
             defaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n  \
             timeout server 60s\n  option http-buffer-request\n  retries 3\n  \
             option redispatch 1\n  retry-on conn-failure empty-response response-timeout 503\n\n\
             frontend fleet\n  bind 127.0.0.1:{port}\n  default_backend gateways\n\n\
             backend gateways\n  balance roundrobin\n  option httpchk GET /gateway/ready\n  \
             http-response set-header X-Served-By %s\n  default-server inter 200ms fall 1 rise 1\n"
        );
        for (name, backend) in backends {
            config.push_str(&format!("  server {name} 127.0.0.1:{backend} check\n"));
        }
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(bin)
            .args(["-db", "-f"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        wait_for_port(port, Duration::from_secs(10)).await;
        Some(Haproxy {
            child,
            port,
            _dir: dir,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops HAProxy.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A private `redis-server` on a free port, without persistence.
pub struct RedisServer {
    bin: PathBuf,
    child: Option<Child>,
    /// Its port (kept across [`RedisServer::restart`]).
    pub port: u16,
}

impl RedisServer {
    /// Starts one, or `None` (skipped) when `redis-server` is not installed.
    pub async fn start() -> Option<RedisServer> {
        let bin = program("redis-server", "redis-server")?;
        let mut server = RedisServer {
            bin,
            child: None,
            port: free_port(),
        };
        server.spawn().await;
        Some(server)
    }

    async fn spawn(&mut self) {
        let child = Command::new(&self.bin)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(10)).await;
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: an outage, not a shutdown).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same port (empty).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.spawn().await;
    }
}

/// Logs in as `admin` (password [`ADMIN_PASSWORD`]) at `base`; returns the token.
pub async fn admin_token(base: &str) -> String {
    let reply = crate::auth::Client::new(base)
        .send(
            "POST",
            "/auth/login",
            crate::auth::Cred::None,
            Some(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD})),
        )
        .await;
    reply.expect_status(200)["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The JWT secret every replica shares (so tokens from one work on all).
pub const FLEET_JWT_SECRET: &str = JWT_SECRET;
