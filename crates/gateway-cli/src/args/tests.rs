use std::path::PathBuf;

use clap::{Parser, error::ErrorKind};

use super::*;

fn parse(args: &[&str]) -> Result<Command, clap::Error> {
    Cli::try_parse_from(std::iter::once("mcpp").chain(args.iter().copied())).map(|c| c.command)
}

fn register(args: &[&str]) -> RegisterArgs {
    let mut all = vec!["gateway", "register"];
    all.extend_from_slice(args);
    match parse(&all).unwrap() {
        Command::Gateway(GatewayCommand::Register(r)) => r,
        other => panic!("{other:?}"),
    }
}

/// The default `--gateway-url`, unless the environment running the tests sets one.
fn default_url() -> String {
    std::env::var("MCP_GATEWAY_URL").unwrap_or_else(|_| DEFAULT_GATEWAY_URL.to_owned())
}

#[test]
fn start_with_every_flag() {
    let cmd = parse(&[
        "gateway",
        "start",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        "--config",
        "gw.json",
        "--database",
        "sqlite::memory:",
        "--log-level",
        "debug",
        "--sync",
        "--background",
        "--shutdown-grace",
        "5",
        "--log-format",
        "text",
        "--metrics-addr",
        "127.0.0.1:9464",
    ])
    .unwrap();
    let Command::Gateway(GatewayCommand::Start(start)) = cmd else {
        panic!("{cmd:?}")
    };
    assert_eq!(
        start,
        StartArgs {
            host: Some("0.0.0.0".into()),
            port: Some(0),
            config: Some(PathBuf::from("gw.json")),
            database: Some("sqlite::memory:".into()),
            log_level: Some("debug".into()),
            log_format: Some("text".into()),
            metrics_addr: Some("127.0.0.1:9464".into()),
            sync: true,
            background: true,
            auth: false,
            insecure_no_auth: false,
            shutdown_grace: Some(5),
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            behind_tls_proxy: false,
        }
    );
}

#[test]
fn start_without_flags_leaves_everything_to_the_server() {
    let Command::Gateway(GatewayCommand::Start(start)) = parse(&["gateway", "start"]).unwrap()
    else {
        panic!()
    };
    assert_eq!(start, StartArgs::default());
    let Command::Gateway(GatewayCommand::Start(start)) =
        parse(&["gateway", "start", "--database-url", "sqlite::memory:"]).unwrap()
    else {
        panic!()
    };
    assert_eq!(start.database.as_deref(), Some("sqlite::memory:"));
}

#[test]
fn start_rejects_bad_values() {
    for args in [
        &["gateway", "start", "--port", "70000"][..],
        &["gateway", "start", "--port", "http"],
        &["gateway", "start", "--bogus"],
        &["gateway", "start", "--background=yes"],
        &["gateway", "start", "extra"],
    ] {
        let err = parse(args).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{args:?}");
    }
}

#[test]
fn gateway_server_takes_the_start_flags_at_top_level() {
    let cli = ServeCli::try_parse_from([
        "gateway-server",
        "--port",
        "0",
        "--database",
        "sqlite::memory:",
    ])
    .unwrap();
    assert_eq!(cli.start.port, Some(0));
    assert_eq!(cli.start.database.as_deref(), Some("sqlite::memory:"));
    assert!(ServeCli::try_parse_from(["gateway-server", "start"]).is_err());
    let help = ServeCli::try_parse_from(["gateway-server", "--help"]).unwrap_err();
    assert_eq!((help.kind(), help.exit_code()), (ErrorKind::DisplayHelp, 0));
}

#[test]
fn register_http() {
    let r = register(&["demo", "--endpoint", "http://127.0.0.1:7071/mcp"]);
    assert_eq!(r.template, "demo");
    assert_eq!(r.endpoint.as_deref(), Some("http://127.0.0.1:7071/mcp"));
    assert_eq!(
        (r.command, r.transport, r.id, r.weight),
        (None, None, None, None)
    );
    assert!(r.env.is_empty());
    assert_eq!(
        r.client,
        ClientArgs {
            gateway_url: default_url(),
            json: false,
            token: None,
            api_key: None,
            ca_bundle: None,
        }
    );
}

#[test]
fn register_stdio_with_every_flag() {
    let r = register(&[
        "demo",
        "--command",
        "python server.py",
        "--working-dir",
        "/app",
        "--transport",
        "stdio",
        "--id",
        "demo-a",
        "--weight",
        "3",
        "--env",
        "A=1",
        "--env",
        "B=x=y",
        "--env",
        "EMPTY=",
        "--gateway-url",
        "http://gw:9000",
        "--json",
    ]);
    assert_eq!(r.command.as_deref(), Some("python server.py"));
    assert_eq!(r.working_dir, Some(PathBuf::from("/app")));
    assert_eq!(r.transport, Some(Transport::Stdio));
    assert_eq!(r.id.as_deref(), Some("demo-a"));
    assert_eq!(r.weight, Some(3));
    let env: Vec<_> = r
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, [("A", "1"), ("B", "x=y"), ("EMPTY", "")]);
    assert_eq!(
        r.client,
        ClientArgs {
            gateway_url: "http://gw:9000".into(),
            json: true,
            token: None,
            api_key: None,
            ca_bundle: None,
        }
    );
    assert_eq!(
        register(&["t", "--command", "x", "--instance-id", "i"])
            .id
            .as_deref(),
        Some("i")
    );
}

#[test]
fn register_passes_out_of_range_weights_to_the_server() {
    // The server owns the range check (one place validates); clap only wants a number.
    assert_eq!(
        register(&["t", "--endpoint", "http://h", "--weight", "-1"]).weight,
        Some(-1)
    );
    assert_eq!(
        register(&["t", "--endpoint", "http://h", "--weight", "0"]).weight,
        Some(0)
    );
}

#[test]
fn register_usage_errors() {
    for (args, kind) in [
        (
            &["gateway", "register", "demo"][..],
            ErrorKind::MissingRequiredArgument,
        ),
        (
            &["gateway", "register", "--endpoint", "http://h"],
            ErrorKind::MissingRequiredArgument,
        ),
        (
            &[
                "gateway",
                "register",
                "demo",
                "--endpoint",
                "http://h",
                "--command",
                "x",
            ],
            ErrorKind::ArgumentConflict,
        ),
        (
            &[
                "gateway",
                "register",
                "demo",
                "--command",
                "x",
                "--env",
                "NOEQUALS",
            ],
            ErrorKind::ValueValidation,
        ),
        (
            &[
                "gateway",
                "register",
                "demo",
                "--command",
                "x",
                "--env",
                "=v",
            ],
            ErrorKind::ValueValidation,
        ),
        (
            &[
                "gateway",
                "register",
                "demo",
                "--endpoint",
                "http://h",
                "--transport",
                "pigeon",
            ],
            ErrorKind::InvalidValue,
        ),
        (
            &[
                "gateway",
                "register",
                "demo",
                "--endpoint",
                "http://h",
                "--weight",
                "heavy",
            ],
            ErrorKind::ValueValidation,
        ),
        (
            &[
                "gateway",
                "register",
                "demo",
                "--endpoint",
                "http://h",
                "--env",
                "A=1",
            ],
            ErrorKind::ArgumentConflict,
        ),
        (
            &[
                "gateway",
                "register",
                "demo",
                "--endpoint",
                "http://h",
                "--working-dir",
                "/",
            ],
            ErrorKind::ArgumentConflict,
        ),
    ] {
        let err = parse(args).unwrap_err();
        assert_eq!(err.kind(), kind, "{args:?}: {err}");
        assert_eq!(err.exit_code(), 2);
    }
}

#[test]
fn deregister() {
    let cmd = parse(&[
        "gateway",
        "deregister",
        "demo",
        "demo-1",
        "--gateway-url",
        "http://gw",
    ])
    .unwrap();
    let Command::Gateway(GatewayCommand::Deregister(d)) = cmd else {
        panic!("{cmd:?}")
    };
    assert_eq!(
        (d.template.as_str(), d.instance_id.as_str()),
        ("demo", "demo-1")
    );
    assert_eq!(d.client.gateway_url, "http://gw");
    assert!(!d.client.json);
    for args in [
        &["gateway", "deregister", "demo"][..],
        &["gateway", "deregister", "a", "b", "c"],
    ] {
        assert_eq!(parse(args).unwrap_err().exit_code(), 2, "{args:?}");
    }
}

#[test]
fn status() {
    let cmd = parse(&["gateway", "status", "--json"]).unwrap();
    let Command::Gateway(GatewayCommand::Status(s)) = cmd else {
        panic!("{cmd:?}")
    };
    assert_eq!(
        s.client,
        ClientArgs {
            gateway_url: default_url(),
            json: true,
            token: None,
            api_key: None,
            ca_bundle: None,
        }
    );
    assert_eq!(
        parse(&["gateway", "status", "extra"])
            .unwrap_err()
            .exit_code(),
        2
    );
}

#[test]
fn top_level_usage() {
    assert_eq!(parse(&[]).unwrap_err().exit_code(), 2);
    assert_eq!(parse(&["gateway"]).unwrap_err().exit_code(), 2);
    assert_eq!(
        parse(&["gateway", "launch"]).unwrap_err().kind(),
        ErrorKind::InvalidSubcommand
    );
    let version = parse(&["--version"]).unwrap_err();
    assert_eq!(
        (version.kind(), version.exit_code()),
        (ErrorKind::DisplayVersion, 0)
    );
}

#[test]
fn definitions_are_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
    ServeCli::command().debug_assert();
}

#[test]
fn parse_duration_accepts_seconds_and_units() {
    for (raw, seconds) in [
        ("3600", 3600),
        ("1", 1),
        ("90s", 90),
        ("15m", 900),
        ("12h", 43_200),
        ("30d", 2_592_000),
        ("90d", 7_776_000),
        // Surrounding blanks (e.g. from a quoted shell variable) are ignored.
        (" 7d ", 604_800),
    ] {
        assert_eq!(parse_duration(raw), Ok(seconds), "{raw:?}");
    }
}

#[test]
fn parse_duration_rejects_bad_input_with_a_clear_error() {
    // An unknown unit names the accepted ones.
    for raw in ["2w", "5D", "1y"] {
        let e = parse_duration(raw).unwrap_err();
        assert!(
            e.contains("unknown unit") && e.contains("s, m, h or d"),
            "{raw:?}: {e}"
        );
        assert!(e.contains(raw.trim()), "the message quotes the input: {e}");
    }
    // Not a positive whole number: the message shows the accepted forms.
    for raw in [
        "",
        " ",
        "0",
        "0d",
        "-5",
        "-5m",
        "1.5h",
        "d",
        "h5",
        "5 d",
        "+",
        "1e3",
        "10ms",
        // Overflows u64 seconds.
        "99999999999999999999",
        "999999999999999999d",
    ] {
        let e = parse_duration(raw).unwrap_err();
        assert!(
            e.starts_with("expected a positive duration like 3600, 12h or 30d")
                || e.contains("unknown unit"),
            "{raw:?}: {e}"
        );
    }
    assert_eq!(
        parse_duration("-5").unwrap_err(),
        r#"expected a positive duration like 3600, 12h or 30d, got "-5""#
    );
}

fn create_api_key(args: &[&str]) -> Result<CreateApiKeyArgs, clap::Error> {
    let mut all = vec!["gateway", "create-api-key"];
    all.extend_from_slice(args);
    parse(&all).map(|cmd| match cmd {
        Command::Gateway(GatewayCommand::CreateApiKey(c)) => c,
        other => panic!("{other:?}"),
    })
}

#[test]
fn create_api_key_flags() {
    let c = create_api_key(&[
        "ci",
        "--scopes",
        "mcp:read,mcp:call",
        "--templates",
        "fs,time",
        "--expires",
        "90d",
        "--owner",
        "alice",
        "--rate-limit",
        "600",
    ])
    .unwrap();
    assert_eq!(c.name, "ci");
    assert_eq!(c.role, None);
    assert_eq!(c.scopes, ["mcp:read", "mcp:call"]);
    assert_eq!(c.templates, ["fs", "time"]);
    assert_eq!(c.expires, Some(90 * 86_400));
    assert_eq!(c.owner.as_deref(), Some("alice"));
    assert_eq!(c.rate_limit, Some(600));

    let plain = create_api_key(&["app", "--role", "user"]).unwrap();
    assert_eq!(plain.role, Some(RoleArg::User));
    assert!(plain.scopes.is_empty() && plain.templates.is_empty());
    assert_eq!(plain.expires, None, "no expiry unless asked");

    // A bad duration is a usage error that carries the parser's message.
    let e = create_api_key(&["app", "--expires", "2w"]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ValueValidation);
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("unknown unit"), "{e}");
    // A role and scopes combine (the scopes narrow the preset; the README's example).
    let both = create_api_key(&["my-app", "--role", "user", "--scopes", "mcp:read"]).unwrap();
    assert_eq!(
        (both.role, both.scopes),
        (Some(RoleArg::User), vec!["mcp:read".to_owned()])
    );
}
