//! The user guide's transcript, run verbatim through `sh -c` (real `curl`, real `mcpp`
//! on `PATH`) against `mcpp gateway start`. Only ports, the paths of local files and the
//! `/mcp` path of our example server are adapted; the unauthenticated variants of the
//! "Example API Calls" are used (authentication is a later issue).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, time::Duration};

use gateway_e2e::*;
use serde_json::Value;

const MCPP: &str = env!("CARGO_BIN_EXE_mcpp-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// A directory for `PATH` holding `mcpp` (and `python`, if the system has only
/// `python3`), as the guide assumes.
fn path_dir(scratch: &Path) -> String {
    let bin = scratch.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(MCPP, bin.join("mcpp")).unwrap();
    let has_python = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("python").exists()));
    if !has_python {
        let python3 = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join("python3"))
            .find(|p| p.exists())
            .expect("python3 on PATH");
        std::os::unix::fs::symlink(python3, bin.join("python")).unwrap();
    }
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", bin.display())
}

/// One transcript step: `sh -c LINE` after adapting the ports.
struct Transcript {
    path: String,
    gateway_url: String,
    port: u16,
}

impl Transcript {
    async fn step(&self, guide_line: &str, adapt: &[(&str, &str)]) -> String {
        let mut line = guide_line.replace("8080", &self.port.to_string());
        for (from, to) in adapt {
            line = line.replace(from, to);
        }
        eprintln!("$ {line}");
        let out = run(
            "sh",
            ["-c", line.as_str()],
            &[
                ("PATH", self.path.as_str()),
                ("MCP_GATEWAY_URL", self.gateway_url.as_str()),
            ],
            STEP_TIMEOUT,
        )
        .await;
        out.expect_success().to_owned()
    }

    async fn json_step(&self, guide_line: &str, adapt: &[(&str, &str)]) -> Value {
        let out = self.step(guide_line, adapt).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }
}

#[tokio::test]
async fn getting_started_and_example_api_calls_work_verbatim() {
    init_tracing();
    let scratch = TempDb::new();
    let path = path_dir(scratch.dir());

    // §1 Start the Gateway: `mcpp gateway start` (port from MCP_GATEWAY_PORT; the
    // database in its default place under XDG_DATA_HOME).
    let gw = TestGateway::builder(scratch.dir().join("bin/mcpp"))
        .subcommand(&["gateway", "start"])
        .no_default_flags()
        .database(&scratch)
        .env("MCP_GATEWAY_PORT", "0")
        .start()
        .await;
    assert!(
        scratch.dir().join("mcp-gateway/gateway.db").exists(),
        "the default database lives under XDG_DATA_HOME"
    );
    let t = Transcript {
        path,
        gateway_url: format!("http://localhost:{}", gw.port()),
        port: gw.port(),
    };

    // §2 Verify Gateway is Running.
    let health = t
        .json_step("curl http://localhost:8080/gateway/health", &[])
        .await;
    assert_eq!(health["status"], "healthy", "{health}");
    let registry = t
        .json_step("curl http://localhost:8080/gateway/registry", &[])
        .await;
    assert_eq!(registry["total_instances"], 0, "{registry}");

    // §4 Register MCP Servers: our echo server over HTTP...
    let echo = EchoHttp::spawn(ECHO, 0, "guide-http").await;
    let echo_url = format!("http://localhost:{}/mcp", echo.port);
    let out = t
        .step(
            "mcpp gateway register mytemplate --endpoint http://localhost:7071",
            &[("http://localhost:7071", &echo_url)],
        )
        .await;
    assert!(out.contains("mytemplate"), "{out}");
    // ...and `python server.py` over stdio, in its working directory.
    let app = scratch.dir().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("server.py"),
        format!(
            "import os\nos.execv({ECHO:?}, [{ECHO:?}, '--stdio', '--instance-id', 'guide-stdio'])\n"
        ),
    )
    .unwrap();
    let app_dir = app.display().to_string();
    t.step(
        r#"mcpp gateway register mytemplate --command "python server.py" --working-dir /app"#,
        &[("/app", &app_dir)],
    )
    .await;
    let registry = t
        .json_step("curl http://localhost:8080/gateway/registry", &[])
        .await;
    assert_eq!(
        registry["templates"]["mytemplate"]["total_instances"], 2,
        "{registry}"
    );

    // Wait, as a user would, until the guide's health check shows both servers up.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let health = t
            .json_step(
                "curl -X GET http://localhost:8080/mcp/filesystem/health",
                &[("filesystem", "mytemplate")],
            )
            .await;
        let up = |i: &Value| i["healthy"] == true && i["status"] == "healthy";
        if health["instances"]
            .as_object()
            .is_some_and(|m| m.len() == 2 && m.values().all(up))
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{health}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Example API Calls, on `mytemplate`.
    let tools = t
        .json_step(
            "curl -X GET http://localhost:8080/mcp/filesystem/tools/list",
            &[("filesystem", "mytemplate")],
        )
        .await;
    assert_eq!(tools["count"], 6, "{tools}");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let result = t
            .json_step(
                r#"curl -X POST http://localhost:8080/mcp/filesystem/tools/call \
  -H "Content-Type: application/json" \
  -d '{
    "name": "read_file",
    "arguments": {"path": "/etc/hosts"}
  }'"#,
                &[("filesystem", "mytemplate"), ("read_file", "whoami")],
            )
            .await;
        assert_eq!(result["isError"], false, "{result}");
        seen.insert(result["content"][0]["text"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        seen,
        ["guide-http".to_owned(), "guide-stdio".to_owned()].into(),
        "both registered servers answer"
    );
    let health = t
        .json_step(
            "curl -X GET http://localhost:8080/mcp/filesystem/health",
            &[("filesystem", "mytemplate")],
        )
        .await;
    assert_eq!(health["template_name"], "mytemplate");
    assert_eq!(health["total_instances"], 2);
    assert_eq!(health["healthy_instances"], 2, "{health}");
    assert_eq!(health["health_percentage"], 100.0);

    // Monitoring and Troubleshooting.
    let stats = t
        .json_step("curl -s http://localhost:8080/gateway/stats | jq", &[])
        .await;
    assert!(stats["total_requests"].as_u64().unwrap() >= 3, "{stats}");
    let checker = t
        .json_step(
            "curl http://localhost:8080/gateway/stats | jq '.health_checker'",
            &[],
        )
        .await;
    assert!(checker.is_object(), "{checker}");
    t.json_step("curl http://localhost:8080/mcp/mytemplate/health", &[])
        .await;

    assert!(gw.stop().await.success());
}

#[tokio::test]
async fn example_api_calls_work_verbatim_on_the_filesystem_server() {
    let Some(filesystem) = server_filesystem() else {
        return;
    };
    init_tracing();
    let scratch = TempDb::new();
    let path = path_dir(scratch.dir());
    let gw = TestGateway::builder(scratch.dir().join("bin/mcpp"))
        .subcommand(&["gateway", "start"])
        .database(&scratch)
        .start()
        .await;
    let t = Transcript {
        path,
        gateway_url: gw.base_url(),
        port: gw.port(),
    };
    // The guide's `filesystem` template, allowed to read /etc, so the tool call below
    // needs no change at all.
    t.step(
        &format!(
            "mcpp gateway register filesystem --command \"{} /etc\"",
            filesystem.display()
        ),
        &[],
    )
    .await;
    gw.wait_healthy("filesystem", 1).await;
    let tools = t
        .json_step(
            "curl -X GET http://localhost:8080/mcp/filesystem/tools/list",
            &[],
        )
        .await;
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"read_file"), "{names:?}");
    assert_eq!(tools["count"], names.len());
    let result = t
        .json_step(
            r#"curl -X POST http://localhost:8080/mcp/filesystem/tools/call \
  -H "Content-Type: application/json" \
  -d '{
    "name": "read_file",
    "arguments": {"path": "/etc/hosts"}
  }'"#,
            &[],
        )
        .await;
    // server-filesystem omits the optional `isError`; the result is forwarded verbatim.
    assert_ne!(result["isError"], true, "{result}");
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap();
    assert_eq!(
        result["content"][0]["text"].as_str().unwrap().trim(),
        hosts.trim()
    );
    let health = t
        .json_step(
            "curl -X GET http://localhost:8080/mcp/filesystem/health",
            &[],
        )
        .await;
    assert_eq!(health["template_name"], "filesystem");
    assert_eq!(
        health["instances"].as_object().unwrap().len(),
        1,
        "{health}"
    );
    assert!(gw.stop().await.success());
}

#[tokio::test]
async fn start_with_custom_configuration_and_in_the_background() {
    init_tracing();
    let scratch = TempDb::new();
    let path = path_dir(scratch.dir());
    // `mcpp gateway start --host 0.0.0.0 --port 8080 --sync`, port adapted. Secure by
    // default: a non-loopback bind without authentication is refused, with a message
    // that says what to do ...
    let data = scratch.dir().display().to_string();
    let refused = run(
        "sh",
        ["-c", "mcpp gateway start --host 0.0.0.0 --port 0 --sync"],
        &[
            ("PATH", path.as_str()),
            ("XDG_DATA_HOME", data.as_str()),
            ("XDG_STATE_HOME", data.as_str()),
            ("HOME", data.as_str()),
        ],
        STEP_TIMEOUT,
    )
    .await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains("--auth") && refused.stderr.contains("--insecure-no-auth"),
        "{}",
        refused.stderr
    );
    // ... and the guide's command works once the operator opts out explicitly.
    let gw = TestGateway::builder(scratch.dir().join("bin/mcpp"))
        .subcommand(&["gateway", "start"])
        .no_default_flags()
        .database(&scratch)
        .args([
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--sync",
            "--insecure-no-auth",
        ])
        .start()
        .await;
    assert!(gw.addr.ip().is_unspecified(), "bound to {}", gw.addr);
    let health = gw.http().get("/gateway/health").await.expect_status(200);
    assert_eq!(health["status"], "healthy");
    assert!(gw.stop().await.success());

    // `mcpp gateway start --background`: returns once the detached gateway listens.
    let out = run(
        "sh",
        ["-c", "mcpp gateway start --background"],
        &[
            ("PATH", path.as_str()),
            ("MCP_GATEWAY_PORT", "0"),
            ("XDG_DATA_HOME", data.as_str()),
            ("XDG_STATE_HOME", data.as_str()),
            ("HOME", data.as_str()),
        ],
        STEP_TIMEOUT,
    )
    .await;
    let stdout = out.expect_success();
    let pid: u32 = stdout
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {stdout}"));
    let addr = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("listening on http://"))
        .unwrap_or_else(|| panic!("no address in {stdout}"))
        .to_owned();
    let stop = |pid: u32| {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
            nix::sys::signal::Signal::SIGTERM,
        );
    };
    let port = addr.rsplit(':').next().unwrap();
    let health = Http::new(&format!("http://127.0.0.1:{port}"))
        .get("/gateway/health")
        .await;
    stop(pid);
    assert_eq!(health.status, 200, "{}", health.text);
    wait_until(
        "the background gateway to stop",
        Duration::from_secs(15),
        || async move { !process_alive(pid) },
    )
    .await;
    let log = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("log: "))
        .unwrap_or_else(|| panic!("no log path in {stdout}"));
    assert!(
        Path::new(log).starts_with(scratch.dir()),
        "the log goes under XDG_STATE_HOME: {log}"
    );
    let logged = std::fs::read_to_string(log).unwrap();
    assert!(logged.contains("mcp-gateway listening on"), "{logged}");
}
