//! `GET /metrics` (issue 15) against the real gateway binary: a real Prometheus server
//! (Debian package `prometheus`) scrapes the gateway's metrics listener while known
//! traffic goes through it (REST and MCP tool calls, an upstream's JSON-RPC error, a
//! template whose only instance is down); the counts and histogram counts Prometheus
//! stored must match that traffic exactly, per label set. `promtool check metrics`
//! accepts the page, `/gateway/stats` agrees with it, and with authentication on it
//! needs `gateway:read`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use gateway_e2e::{
    auth::{ADMIN_PASSWORD, AuthGateway, Cred},
    fleet::program,
    mcp::McpHttp,
    *,
};
use serde_json::{Value, json};
use tokio::{io::AsyncWriteExt, process::Command};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// A label set, as Prometheus returns it (without `__name__`).
type Labels = BTreeMap<String, String>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A Prometheus server scraping one target every 200 ms, with its data in a temp dir.
struct Prometheus {
    child: tokio::process::Child,
    api: String,
    _dir: TempDb,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (`HOST:PORT`), or `None` (skipped loudly)
    /// when it is not installed.
    async fn start(target: &str) -> Option<Prometheus> {
        let bin = program("prometheus", "prometheus")?;
        let dir = TempDb::new();
        let config = dir.dir().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\n\
                 scrape_configs:\n  - job_name: gateway\n    metrics_path: /metrics\n    \
                 static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.dir().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        wait_for_port(port, Duration::from_secs(30)).await;
        Some(Prometheus {
            child,
            api: format!("http://127.0.0.1:{port}/api/v1"),
            _dir: dir,
        })
    }

    /// An instant query: every series with its value.
    async fn query(&self, query: &str) -> BTreeMap<Labels, f64> {
        let body: Value = reqwest::Client::new()
            .get(format!(
                "{}/query?query={}",
                self.api,
                percent_encode(query)
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["status"], "success", "{query}: {body}");
        body["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut metric: Labels = serde_json::from_value(s["metric"].clone()).unwrap();
                metric.remove("__name__");
                metric.remove("job");
                let value = s["value"][1].as_str().unwrap().parse().unwrap();
                (metric, value)
            })
            .collect()
    }

    /// Waits (bounded) until `query` returns exactly `expected`; panics with the last
    /// answer otherwise. Prometheus sees new counts at its next scrape.
    async fn expect(&self, query: &str, expected: &BTreeMap<Labels, f64>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.query(query).await;
            if &got == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{query}:\n got      {got:?}\n expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// `text` as a URL query value.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The samples of a metrics page: `(name, labels) -> value`.
fn parse_page(page: &str) -> BTreeMap<(String, Labels), f64> {
    let mut samples = BTreeMap::new();
    for line in page
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let rest = rest.strip_suffix('}').unwrap();
                let mut labels = Labels::new();
                // Label values here never contain `",`.
                for pair in rest.split("\",") {
                    let (k, v) = pair.split_once("=\"").unwrap();
                    labels.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
                }
                (name.to_owned(), labels)
            }
            None => (series.to_owned(), Labels::new()),
        };
        samples.insert((name, labels), value.parse::<f64>().unwrap());
    }
    samples
}

/// The sum of `name`'s samples whose labels satisfy `keep`.
fn sum(
    samples: &BTreeMap<(String, Labels), f64>,
    name: &str,
    keep: impl Fn(&Labels) -> bool,
) -> f64 {
    samples
        .iter()
        .filter(|((n, l), _)| n == name && keep(l))
        .map(|(_, v)| v)
        .sum()
}

/// A gateway serving `/metrics` also on `metrics_port` (no auth), with templates `echo`
/// (an HTTP echo instance `e1`), `local` (a stdio echo instance `s1`) and `dead` (one
/// HTTP instance `d1` on a port where nothing listens).
async fn gateway(metrics_port: u16) -> (TestGateway, EchoHttp) {
    let gw = TestGateway::builder(GATEWAY)
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .start()
        .await;
    let echo = EchoHttp::spawn(ECHO, 0, "e1").await;
    gw.register(json!({"template_name": "echo", "instance_id": "e1", "endpoint": echo.url()}))
        .await;
    gw.register(json!({"template_name": "local", "instance_id": "s1",
                       "command": format!("{ECHO} --stdio --instance-id s1")}))
        .await;
    let nowhere = free_port();
    gw.register(json!({"template_name": "dead", "instance_id": "d1",
                       "endpoint": format!("http://127.0.0.1:{nowhere}/mcp")}))
        .await;
    gw.wait_healthy("echo", 1).await;
    gw.wait_healthy("local", 1).await;
    (gw, echo)
}

/// The known traffic: REST calls (3 answered, 1 answered with a JSON-RPC error), a REST list, MCP
/// calls on a stdio template (2) and a REST call to a template with no live instance.
async fn send_traffic(gw: &TestGateway) {
    for i in 0..3 {
        let r = gw
            .call_tool("echo", "echo", json!({"message": format!("m{i}")}))
            .await;
        assert_eq!(r["content"][0]["text"], format!("m{i}"), "{r}");
    }
    // The upstream's JSON-RPC error (invalid params) is a 400 on the REST facade.
    gw.try_call_tool("echo", "no-such-tool", json!({}))
        .await
        .expect_status(400);
    gw.http()
        .get("/mcp/local/tools/list")
        .await
        .expect_status(200);
    let mut mcp = McpHttp::new(format!("{}/mcp/local", gw.base_url()));
    mcp.initialize("2025-06-18").await;
    for i in 0..2 {
        let r = mcp
            .request(
                "tools/call",
                json!({"name": "echo", "arguments": {"message": format!("x{i}")}}),
            )
            .await;
        assert_eq!(r["result"]["content"][0]["text"], format!("x{i}"), "{r}");
    }
    let r = gw
        .try_call_tool("dead", "echo", json!({"message": "m"}))
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
}

#[tokio::test]
async fn prometheus_stores_exactly_the_traffic_sent() {
    init_tracing();
    let metrics_port = free_port();
    let (gw, _echo) = gateway(metrics_port).await;
    let Some(prometheus) = Prometheus::start(&format!("127.0.0.1:{metrics_port}")).await else {
        return;
    };
    // The scrape target is up before any traffic: counters Prometheus has seen from 0.
    let up = BTreeMap::from([(
        labels(&[("instance", &format!("127.0.0.1:{metrics_port}"))]),
        1.0,
    )]);
    prometheus.expect("up", &up).await;
    send_traffic(&gw).await;

    let server = |method: &str, template: &str, interface: &str, error: Option<&str>, n: f64| {
        let mut l = labels(&[
            ("mcp_method_name", method),
            ("template", template),
            ("interface", interface),
            ("instance", &format!("127.0.0.1:{metrics_port}")),
        ]);
        if let Some(e) = error {
            l.insert("error_type".into(), e.into());
        }
        (l, n)
    };
    let expected = BTreeMap::from([
        server("tools/call", "echo", "rest", None, 3.0),
        server("tools/call", "echo", "rest", Some("jsonrpc_error"), 1.0),
        server("tools/list", "local", "rest", None, 1.0),
        server("tools/call", "local", "mcp", None, 2.0),
        server("tools/call", "dead", "rest", Some("unavailable"), 1.0),
    ]);
    prometheus
        .expect("mcp_server_operation_duration_seconds_count", &expected)
        .await;
    // Every observation is in the `+Inf` bucket, and the sum of durations is positive.
    let inf: BTreeMap<Labels, f64> = prometheus
        .query("mcp_server_operation_duration_seconds_bucket{le=\"+Inf\"}")
        .await
        .into_iter()
        .map(|(mut l, v)| {
            assert_eq!(l.remove("le").as_deref(), Some("+Inf"));
            (l, v)
        })
        .collect();
    assert_eq!(inf, expected);
    for (l, v) in prometheus
        .query("mcp_server_operation_duration_seconds_sum")
        .await
    {
        assert!(v > 0.0, "{l:?}: {v}");
    }

    // One client operation per upstream attempt: the upstream instance is a label
    // (`instance` is Prometheus's own, so the gateway's becomes `exported_instance`).
    let client = |method: &str,
                  template: &str,
                  instance: &str,
                  transport: &str,
                  error: Option<&str>,
                  n: f64| {
        let mut l = labels(&[
            ("mcp_method_name", method),
            ("template", template),
            ("exported_instance", instance),
            ("network_transport", transport),
            ("instance", &format!("127.0.0.1:{metrics_port}")),
        ]);
        if let Some(e) = error {
            l.insert("error_type".into(), e.into());
        }
        (l, n)
    };
    let mut expected = BTreeMap::from([
        client("tools/call", "echo", "e1", "tcp", None, 3.0),
        client(
            "tools/call",
            "echo",
            "e1",
            "tcp",
            Some("jsonrpc_error"),
            1.0,
        ),
        client("tools/list", "local", "s1", "pipe", None, 1.0),
        client("tools/call", "local", "s1", "pipe", None, 2.0),
    ]);
    // The dead instance is tried at most once (unless its circuit is already open).
    let dead = prometheus
        .query("mcp_client_operation_duration_seconds_count{template=\"dead\"}")
        .await;
    assert!(
        dead.len() <= 1 && dead.values().all(|v| *v == 1.0),
        "{dead:?}"
    );
    expected.extend(dead);
    prometheus
        .expect("mcp_client_operation_duration_seconds_count", &expected)
        .await;

    // The HTTP layer counted the same requests by route and status class.
    let rest_calls = prometheus
        .query("http_server_requests_total{http_route=\"/mcp/{template}/tools/call\"}")
        .await;
    let by_class: BTreeMap<String, f64> = rest_calls
        .into_iter()
        .map(|(l, v)| (l["status_class"].clone(), v))
        .collect();
    assert_eq!(
        by_class,
        BTreeMap::from([
            ("2xx".into(), 3.0),
            ("4xx".into(), 1.0),
            ("5xx".into(), 1.0)
        ])
    );
    let build = prometheus.query("mcp_gateway_build_info").await;
    assert_eq!(build.len(), 1, "{build:?}");
    assert!(build.keys().all(|l| l.contains_key("version")));
    for process in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        let v = prometheus.query(process).await;
        assert!(
            v.values().all(|v| *v > 0.0) && v.len() == 1,
            "{process}: {v:?}"
        );
    }

    // Every query of the Grafana dashboard is valid PromQL on these series, and the
    // request-rate panel has data.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/grafana/mcp-gateway.json")).unwrap(),
    )
    .unwrap();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$job", ".*")
                .replace("$template", ".*")
                .replace("$__rate_interval", "1m");
            let result = prometheus.query(&expr).await;
            if panel["title"] == "Client requests per second, by template" {
                assert!(!result.is_empty(), "{expr}: no data");
            }
            queries += 1;
        }
    }
    assert!(queries > 20, "{queries} dashboard queries");
    gw.stop().await;
}

/// Runs `promtool check metrics` on `page`; returns its exit status and output.
async fn promtool(page: &str) -> Option<(bool, String)> {
    let bin: PathBuf = program("promtool", "prometheus")?;
    let mut child = Command::new(bin)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(page.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

#[tokio::test]
async fn the_page_passes_promtool_and_agrees_with_gateway_stats() {
    init_tracing();
    let metrics_port = free_port();
    let (gw, _echo) = gateway(metrics_port).await;
    send_traffic(&gw).await;
    // Through the main listener (no auth here) and the metrics listener: same page
    // shape, the content type Prometheus expects.
    let reply = gw.http().get("/metrics").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let stats = gw.http().get("/gateway/stats").await.expect_status(200);
    let page = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    if let Some((ok, out)) = promtool(&page).await {
        assert!(ok, "promtool check metrics:\n{out}\n--- page ---\n{page}");
    }
    let samples = parse_page(&page);

    // Totals: every relayed request is one server operation.
    let total = stats["total_requests"].as_f64().unwrap();
    assert_eq!(total, 8.0, "{stats}");
    let server_count = "mcp_server_operation_duration_seconds_count";
    assert_eq!(sum(&samples, server_count, |_| true), total);
    assert_eq!(sum(&samples, "mcp_gateway_requests_total", |_| true), total);
    let failed = stats["failed_requests"].as_f64().unwrap();
    assert_eq!(failed, 1.0, "{stats}");
    let no_answer = |l: &Labels| {
        l.get("error_type")
            .is_some_and(|e| ["timeout", "unavailable", "upstream_failed"].contains(&e.as_str()))
    };
    assert_eq!(sum(&samples, server_count, no_answer), failed);
    assert_eq!(
        sum(&samples, "mcp_gateway_request_failures_total", |_| true),
        failed
    );

    // Per instance: attempts and failed attempts.
    let client_count = "mcp_client_operation_duration_seconds_count";
    let per_instance = stats["load_balancer"]["requests_per_instance"]
        .as_object()
        .unwrap();
    let errors = stats["load_balancer"]["errors_per_instance"]
        .as_object()
        .unwrap();
    assert_eq!(per_instance["e1"], 4, "{stats}");
    assert_eq!(per_instance["s1"], 3, "{stats}");
    for (instance, n) in per_instance {
        let mine = |l: &Labels| l.get("instance") == Some(instance);
        assert_eq!(
            sum(&samples, client_count, mine),
            n.as_f64().unwrap(),
            "{instance}"
        );
        let failed =
            |l: &Labels| mine(l) && l.get("error_type").is_some_and(|e| e != "jsonrpc_error");
        assert_eq!(
            sum(&samples, client_count, failed),
            errors[instance].as_f64().unwrap(),
            "{instance}"
        );
    }
    assert_eq!(
        sum(&samples, "mcp_gateway_instance_in_flight", |_| true),
        stats["active_connections"].as_f64().unwrap()
    );
    // Health: what /gateway/stats says of each instance (the healthy ones: the dead
    // one's state may change between the two reads).
    for instance in ["e1", "s1"] {
        let health = &stats["health_checker"]["instances"][instance];
        let instance = &instance.to_owned();
        let is = |l: &Labels| l.get("instance") == Some(instance);
        let status = health["status"].as_str().unwrap();
        let current = |l: &Labels| is(l) && l.get("status").map(String::as_str) == Some(status);
        assert_eq!(sum(&samples, "mcp_gateway_instance_status", current), 1.0);
        let circuit = health["circuit"].as_str().unwrap();
        let current = |l: &Labels| is(l) && l.get("state").map(String::as_str) == Some(circuit);
        assert_eq!(
            sum(&samples, "mcp_gateway_instance_circuit_state", current),
            1.0
        );
    }
    // The MCP session above is live; nothing is dedicated.
    let active =
        |mode: &'static str| move |l: &Labels| l.get("mode").map(String::as_str) == Some(mode);
    assert_eq!(
        sum(&samples, "mcp_gateway_sessions_active", active("shared")),
        1.0
    );
    assert_eq!(
        sum(&samples, "mcp_gateway_sessions_active", active("dedicated")),
        0.0
    );
    // The page from the main listener was written while its own connection was open.
    let main = parse_page(&reply.text);
    assert!(sum(&main, "http_server_open_connections", |_| true) >= 1.0);
    gw.stop().await;
}

#[tokio::test]
async fn metrics_need_gateway_read_when_auth_is_on() {
    init_tracing();
    let gw = AuthGateway::builder(GATEWAY).start().await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    c.get("/metrics", Cred::None).await.expect_status(401);
    let (caller, _) = c
        .create_key(
            Cred::Bearer(&admin),
            json!({"name": "caller", "scopes": ["mcp:read", "mcp:call"]}),
        )
        .await;
    c.get("/metrics", Cred::Key(&caller))
        .await
        .expect_status(403);
    let (scraper, _) = c
        .create_key(
            Cred::Bearer(&admin),
            json!({"name": "scraper", "scopes": ["gateway:read"]}),
        )
        .await;
    let page = c.get("/metrics", Cred::Key(&scraper)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    // The refusals above are counted by reason.
    let samples = parse_page(&page.text);
    let reason = |r: &'static str| move |l: &Labels| l.get("reason").map(String::as_str) == Some(r);
    let failures = "mcp_gateway_auth_failures_total";
    assert_eq!(sum(&samples, failures, reason("missing_credentials")), 1.0);
    assert_eq!(sum(&samples, failures, reason("missing_scope")), 1.0);
    // One JSON line per request, with the principal's name and no credential.
    let log = gw.stderr();
    let line = log
        .lines()
        .rfind(|l| l.contains("\"route\":\"/metrics\"") && l.contains("\"status\":200"))
        .unwrap_or_else(|| panic!("no request line for /metrics:\n{log}"));
    let line: Value = serde_json::from_str(line).unwrap();
    assert_eq!(line["principal"], "admin", "{line}");
    assert_eq!(line["message"], "request", "{line}");
    assert!(
        line["request_id"].as_str().is_some_and(|id| id.len() > 8),
        "{line}"
    );
    assert!(
        !log.contains(&scraper) && !log.contains(&admin),
        "a credential in the log"
    );
    gw.stop().await;
}

#[tokio::test]
async fn metrics_off_keeps_the_counters_and_skips_the_timing() {
    init_tracing();
    let gw = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_METRICS", "off")
        .start()
        .await;
    let echo = EchoHttp::spawn(ECHO, 0, "e1").await;
    gw.register(json!({"template_name": "echo", "instance_id": "e1", "endpoint": echo.url()}))
        .await;
    gw.wait_healthy("echo", 1).await;
    gw.call_tool("echo", "echo", json!({"message": "m"})).await;
    let stats = gw.http().get("/gateway/stats").await.expect_status(200);
    assert_eq!(stats["total_requests"], 1, "{stats}");
    let page = gw.http().get("/metrics").await;
    let samples = parse_page(&page.text);
    assert_eq!(sum(&samples, "mcp_gateway_requests_total", |_| true), 1.0);
    for timed in [
        "mcp_server_operation_duration_seconds_count",
        "mcp_client_operation_duration_seconds_count",
        "http_server_requests_total",
    ] {
        assert_eq!(sum(&samples, timed, |_| true), 0.0, "{timed}");
    }
    gw.stop().await;
}
