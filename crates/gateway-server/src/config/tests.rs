use super::*;

use crate::config::test_env as env;

pub(super) fn write(json: &str) -> tempfile_path::TempPath {
    tempfile_path::write(json)
}

pub(super) mod tempfile_path {
    pub(crate) struct TempPath(pub(crate) std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    pub(super) fn write(json: &str) -> TempPath {
        let path = std::env::temp_dir().join(format!(
            "gw-config-{}-{}.json",
            std::process::id(),
            fastid()
        ));
        std::fs::write(&path, json).unwrap();
        TempPath(path)
    }
    fn fastid() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }
}

#[test]
fn precedence_is_file_then_env_then_flags() {
    let file =
        write(r#"{"host":"10.0.0.1","port":9000,"max_retries":1,"default_strategy":"random"}"#);
    let o = Overrides {
        config_file: Some(file.0.clone()),
        ..Default::default()
    };
    let s = Settings::load_with_env(o.clone(), env(&[])).unwrap();
    assert_eq!((s.host.as_str(), s.port), ("10.0.0.1", 9000));
    assert_eq!(s.template_defaults.max_retries(), 1);
    assert_eq!(s.template_defaults.strategy(), Strategy::Random);
    let s = Settings::load_with_env(
        o.clone(),
        env(&[
            ("MCP_GATEWAY_PORT", "9100"),
            ("MCP_GATEWAY_MAX_RETRIES", "2"),
            ("MCP_GATEWAY_DEFAULT_STRATEGY", "weighted"),
        ]),
    )
    .unwrap();
    assert_eq!((s.port, s.template_defaults.max_retries()), (9100, 2));
    assert_eq!(s.template_defaults.strategy(), Strategy::Weighted);
    let o = Overrides {
        port: Some(9200),
        ..o
    };
    assert_eq!(
        Settings::load_with_env(o, env(&[("MCP_GATEWAY_PORT", "9100")]))
            .unwrap()
            .port,
        9200
    );
}

#[test]
fn errors_name_the_key() {
    let e = Settings::load_with_env(Overrides::default(), env(&[("MCP_GATEWAY_PORT", "eighty")]))
        .unwrap_err();
    assert_eq!(e.key(), "MCP_GATEWAY_PORT");
    let e = Settings::load_with_env(
        Overrides::default(),
        env(&[("MCP_GATEWAY_DEFAULT_STRATEGY", "fastest")]),
    )
    .unwrap_err();
    assert_eq!(e.key(), "MCP_GATEWAY_DEFAULT_STRATEGY");
    let e = Settings::load_with_env(
        Overrides::default(),
        env(&[("MCP_GATEWAY_HEALTH_INTERVAL", "0")]),
    )
    .unwrap_err();
    assert_eq!(e.key(), "MCP_GATEWAY_HEALTH_INTERVAL");
    let file = write(r#"{"prot": 1}"#);
    let e = Settings::load_with_env(
        Overrides {
            config_file: Some(file.0.clone()),
            ..Default::default()
        },
        env(&[]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown field `prot`"), "{e}");
    let file = write(r#"{"templates":{"fs":{"instances":[{"endpoint":"ftp://x"}]}}}"#);
    let e = Settings::load_with_env(
        Overrides {
            config_file: Some(file.0.clone()),
            ..Default::default()
        },
        env(&[]),
    )
    .unwrap_err();
    assert_eq!(e.key(), "templates.fs.instances[0].endpoint");
}

#[test]
fn file_type_errors_name_the_key() {
    let load = |json: &str| {
        let file = write(json);
        Settings::load_with_env(
            Overrides {
                config_file: Some(file.0.clone()),
                ..Default::default()
            },
            env(&[]),
        )
        .unwrap_err()
    };
    let e = load(r#"{"port": "x"}"#);
    assert_eq!(e.key(), "port", "{e}");
    assert!(e.to_string().contains("invalid type"), "{e}");
    assert!(e.to_string().contains(".json"), "names the file too: {e}");
    let e = load(r#"{"templates": {"x": {"load_balancer": {"strategy": "fastest"}}}}"#);
    assert_eq!(e.key(), "templates.x.load_balancer.strategy", "{e}");
    let e = load(
        r#"{"templates": {"x": {"instances": [{"endpoint": "http://h/mcp", "weight": "heavy"}]}}}"#,
    );
    assert_eq!(e.key(), "templates.x.instances[0].weight", "{e}");
    let e = load(r#"{"max_retries": -1}"#);
    assert_eq!(e.key(), "max_retries", "{e}");
    // Syntax errors and trailing garbage are the file's fault as a whole.
    let e = load(r#"{"port": 1"#);
    assert!(e.key().ends_with(".json"), "{e}");
    let e = load(r#"{"port": 1} x"#);
    assert!(e.key().ends_with(".json"), "{e}");
}

#[test]
fn guide_template_block_is_accepted() {
    let file = write(
        r#"{"templates":{"high-performance":{"instances":[{"endpoint":"http://127.0.0.1:7071/mcp"},{"command":"python server.py"}],
            "load_balancer":{"strategy":"weighted","health_check_interval":15,"max_retries":2,"timeout":30}}}}"#,
    );
    let s = Settings::load_with_env(
        Overrides {
            config_file: Some(file.0.clone()),
            ..Default::default()
        },
        env(&[]),
    )
    .unwrap();
    assert_eq!(s.seed.len(), 1);
    assert_eq!(s.seed[0].instances.len(), 2);
    assert_eq!(
        s.seed[0].load_balancer.as_ref().unwrap().strategy,
        Some(Strategy::Weighted)
    );
}

#[test]
fn upstream_tls_errors_name_the_key() {
    let load = |json: String| {
        let file = write(&json);
        Settings::load_with_env(
            Overrides {
                config_file: Some(file.0.clone()),
                ..Default::default()
            },
            env(&[]),
        )
    };
    let tls = |block: &str| {
        format!(r#"{{"templates": {{"x": {{"load_balancer": {{"upstream_tls": {block}}}}}}}}}"#)
    };
    // Shape errors, before any file is read.
    let e = load(tls(r#"{"ca_bundle": "ca.pem"}"#)).unwrap_err();
    assert_eq!(e.key(), "templates.x.load_balancer.upstream_tls.ca_bundle");
    assert!(e.to_string().contains("absolute path"), "{e}");
    let e = load(tls(r#"{"client_cert": "/c.pem"}"#)).unwrap_err();
    assert_eq!(e.key(), "templates.x.load_balancer.upstream_tls.client_key");
    let e = load(tls(r#"{"system_roots": false}"#)).unwrap_err();
    assert_eq!(
        e.key(),
        "templates.x.load_balancer.upstream_tls.system_roots"
    );
    let e = load(tls(r#"{"ca_file": "/ca.pem"}"#)).unwrap_err();
    assert!(e.to_string().contains("unknown field `ca_file`"), "{e}");
    // Files are read at load time: a missing or non-PEM file is refused by name.
    let missing = std::env::temp_dir().join(format!("gw-missing-{}.pem", std::process::id()));
    let e = load(tls(&format!(r#"{{"ca_bundle": {:?}}}"#, missing.display()))).unwrap_err();
    assert_eq!(e.key(), "templates.x.load_balancer.upstream_tls.ca_bundle");
    assert!(e.to_string().contains("cannot read the file"), "{e}");
    let junk = write("not a certificate");
    let e = load(tls(&format!(
        r#"{{"ca_bundle": {:?}, "system_roots": true}}"#,
        junk.0.display()
    )))
    .unwrap_err();
    assert_eq!(e.key(), "templates.x.load_balancer.upstream_tls.ca_bundle");
    assert!(e.to_string().contains("holds no PEM certificate"), "{e}");
    // Settings that change nothing are accepted (and stored as none).
    let s = load(tls("{}")).unwrap();
    let update = s.seed[0].load_balancer.as_ref().unwrap();
    assert_eq!(
        update
            .apply(LoadBalancerSettings::default())
            .unwrap()
            .upstream_tls(),
        None
    );
}

#[test]
fn upstream_auth_errors_name_the_key() {
    let load = |json: &str| {
        let file = write(json);
        Settings::load_with_env(
            Overrides {
                config_file: Some(file.0.clone()),
                ..Default::default()
            },
            env(&[]),
        )
    };
    let e = load(
        r#"{"templates": {"x": {"load_balancer": {"upstream_auth": {"mode": "passthrough"}}}}}"#,
    )
    .unwrap_err();
    assert_eq!(e.key(), "templates.x.load_balancer.upstream_auth.audience");
    let e =
        load(r#"{"templates": {"x": {"load_balancer": {"upstream_auth": {"mode": "maybe"}}}}}"#)
            .unwrap_err();
    assert_eq!(e.key(), "templates.x.load_balancer.upstream_auth.mode");
    // An instance that cannot carry a per-user token is refused by its key.
    let e = load(
        r#"{"templates": {"x": {"instances": [{"endpoint": "http://127.0.0.1:1/mcp"}, {"command": "server"}],
            "load_balancer": {"upstream_auth": {"mode": "token_exchange", "issuer": "corp", "audience": "up"}}}}}"#,
    )
    .unwrap_err();
    assert_eq!(e.key(), "templates.x.instances[1].transport");
    let e = load(
        r#"{"templates": {"x": {"instances": [{"endpoint": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer s"}}],
            "load_balancer": {"upstream_auth": {"mode": "none"}}}}}"#,
    )
    .unwrap_err();
    assert_eq!(e.key(), "templates.x.instances[0].headers");
    assert!(!e.to_string().contains("Bearer s"), "{e}");
    let s = load(
        r#"{"templates": {"x": {"load_balancer": {"upstream_auth": {"mode": "passthrough", "audience": "https://up"}}}}}"#,
    )
    .unwrap();
    let update = s.seed[0].load_balancer.as_ref().unwrap();
    let settings = update.apply(LoadBalancerSettings::default()).unwrap();
    assert_eq!(settings.upstream_auth().audience(), Some("https://up"));
}

#[test]
fn mcp_limits_have_defaults_and_errors_name_the_key() {
    let s = Settings::load_with_env(Overrides::default(), env(&[])).unwrap();
    assert_eq!(s.mcp.limits, McpLimits::default());
    assert_eq!(s.mcp.limits.max_dedicated_per_principal, 10);
    let s = Settings::load_with_env(
        Overrides::default(),
        env(&[
            ("MCP_GATEWAY_MAX_LIVE_SESSIONS", "5000"),
            ("MCP_GATEWAY_MAX_CLOSED_SESSIONS", "7"),
            ("MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL", "2"),
            ("MCP_GATEWAY_SSE_MAX_CONNECTIONS", "3"),
            ("MCP_GATEWAY_SSE_MAX_CONNECTIONS_PER_PRINCIPAL", "1"),
            ("MCP_GATEWAY_SSE_QUEUE_MESSAGES", "8"),
            ("MCP_GATEWAY_SSE_QUEUE_BYTES", "65536"),
        ]),
    )
    .unwrap();
    assert_eq!(
        s.mcp.limits,
        McpLimits {
            max_live_sessions: 5000,
            max_closed_sessions: 7,
            max_dedicated_per_principal: 2,
            sse_max_connections: 3,
            sse_max_connections_per_principal: 1,
            sse_queue_messages: 8,
            sse_queue_bytes: 65536,
        }
    );
    for (key, bad) in [
        ("MCP_GATEWAY_MAX_LIVE_SESSIONS", "0"),
        ("MCP_GATEWAY_MAX_CLOSED_SESSIONS", "many"),
        ("MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL", "10001"),
        ("MCP_GATEWAY_SSE_MAX_CONNECTIONS", "-1"),
        ("MCP_GATEWAY_SSE_MAX_CONNECTIONS_PER_PRINCIPAL", "0"),
        ("MCP_GATEWAY_SSE_QUEUE_MESSAGES", "1.5"),
        ("MCP_GATEWAY_SSE_QUEUE_BYTES", "100"),
    ] {
        let e = Settings::load_with_env(Overrides::default(), env(&[(key, bad)])).unwrap_err();
        assert_eq!(e.key(), key, "{e}");
    }
}

#[test]
fn log_format_and_metrics_address_from_flag_env_or_file() {
    let none = Settings::load_with_env(Overrides::default(), env(&[])).unwrap();
    assert_eq!((none.log_format(), none.metrics_addr), (None, None));
    assert!(none.metrics);
    let off = Settings::load_with_env(Overrides::default(), env(&[("MCP_GATEWAY_METRICS", "off")]));
    assert!(!off.unwrap().metrics);
    let file = write(r#"{"log_format":"text","metrics_addr":"127.0.0.1:9464"}"#);
    let from_file = Overrides {
        config_file: Some(file.0.clone()),
        ..Default::default()
    };
    let s = Settings::load_with_env(from_file.clone(), env(&[])).unwrap();
    assert_eq!(s.log_format(), Some(LogFormat::Text));
    assert_eq!(s.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
    let vars = [
        ("MCP_GATEWAY_LOG_FORMAT", "JSON"),
        ("MCP_GATEWAY_METRICS_ADDR", "0.0.0.0:9100"),
    ];
    let s = Settings::load_with_env(from_file.clone(), env(&vars)).unwrap();
    assert_eq!(s.log_format(), Some(LogFormat::Json));
    assert_eq!(s.metrics_addr, Some("0.0.0.0:9100".parse().unwrap()));
    let flags = Overrides {
        log_format: Some("text".into()),
        metrics_addr: Some("[::1]:9101".into()),
        ..from_file
    };
    let s = Settings::load_with_env(flags, env(&vars)).unwrap();
    assert_eq!(s.log_format(), Some(LogFormat::Text));
    assert_eq!(s.metrics_addr, Some("[::1]:9101".parse().unwrap()));
    for (key, value) in [
        ("MCP_GATEWAY_LOG_FORMAT", "yaml"),
        ("MCP_GATEWAY_METRICS_ADDR", "localhost"),
        ("MCP_GATEWAY_METRICS", "maybe"),
    ] {
        let e = Settings::load_with_env(Overrides::default(), env(&[(key, value)])).unwrap_err();
        assert_eq!(e.key(), key);
    }
}

#[test]
fn a_log_level_that_is_not_one_is_refused_naming_where_it_came_from() {
    let load = |flag: Option<&str>, vars: &[(&str, &str)]| {
        Settings::load_with_env(
            Overrides {
                log_level: flag.map(str::to_owned),
                ..Default::default()
            },
            env(vars),
        )
    };
    let e = load(Some("verbose"), &[]).unwrap_err();
    assert_eq!(e.key(), "--log-level");
    assert!(
        e.to_string()
            .contains("use error, warn, info, debug, trace or off"),
        "{e}"
    );
    let e = load(None, &[("MCP_GATEWAY_LOG_LEVEL", "loud")]).unwrap_err();
    assert_eq!(e.key(), "MCP_GATEWAY_LOG_LEVEL");
    assert_eq!(load(Some("DEBUG"), &[]).unwrap().log_level(), "debug");
    assert_eq!(load(Some("Warning"), &[]).unwrap().log_level(), "warn");
    assert_eq!(
        load(Some("info,gateway_server=trace"), &[])
            .unwrap()
            .log_level(),
        "info,gateway_server=trace"
    );
    assert_eq!(load(None, &[]).unwrap().log_level(), "info");
}
