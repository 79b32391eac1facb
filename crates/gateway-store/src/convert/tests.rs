use std::path::Path;

use sea_orm::ActiveValue;

use super::*;

fn value<T: Into<sea_orm::Value> + Clone>(v: ActiveValue<T>) -> T {
    match v {
        ActiveValue::Set(v) | ActiveValue::Unchanged(v) => v,
        ActiveValue::NotSet => panic!("column not set"),
    }
}

/// The model `instance_row` would insert, as the database would return it.
fn stored(instance: &Instance) -> instance::Model {
    let row = instance_row(instance).unwrap();
    instance::Model {
        id: value(row.id),
        template_name: value(row.template_name),
        transport: value(row.transport),
        endpoint: value(row.endpoint),
        command: value(row.command),
        args: value(row.args),
        env: value(row.env),
        headers: value(row.headers),
        working_dir: value(row.working_dir),
        weight: value(row.weight),
        metadata: value(row.metadata),
        created_at_ms: value(row.created_at_ms),
        updated_at_ms: value(row.updated_at_ms),
    }
}

fn stdio_instance() -> Instance {
    let env = BTreeMap::from([("API_TOKEN".to_owned(), "s3cret-env".to_owned())]);
    let cmd = StdioCommand::new(
        "python3",
        vec!["-m".into(), "server".into(), "--flag".into()],
        env,
        Some("/srv/mcp".into()),
    )
    .unwrap();
    Instance {
        id: InstanceId::parse("stdio-1").unwrap(),
        template: TemplateName::parse("tools").unwrap(),
        spec: InstanceSpec::Stdio(cmd),
        weight: Weight::new(7).unwrap(),
        metadata: serde_json::json!({"team": "a", "n": 1})
            .as_object()
            .unwrap()
            .clone(),
        created_at_ms: 1,
        updated_at_ms: 2,
    }
}

fn http_instance() -> Instance {
    let headers = Headers::new([
        ("X-Zeta".to_owned(), "s3cret-header".to_owned()),
        ("Accept".to_owned(), "a".to_owned()),
        ("X-Zeta".to_owned(), "again".to_owned()),
    ])
    .unwrap();
    Instance {
        id: InstanceId::parse("http-1").unwrap(),
        template: TemplateName::parse("tools").unwrap(),
        spec: InstanceSpec::Http {
            url: EndpointUrl::parse("http://127.0.0.1:7071/mcp").unwrap(),
            headers,
        },
        weight: Weight::ONE,
        metadata: Map::new(),
        created_at_ms: 3,
        updated_at_ms: 4,
    }
}

#[test]
fn instances_round_trip_exactly() {
    for instance in [stdio_instance(), http_instance()] {
        assert_eq!(instance_from_row(stored(&instance)).unwrap(), instance);
    }
}

#[test]
fn headers_keep_order_and_duplicates() {
    let row = stored(&http_instance());
    assert_eq!(
        row.headers,
        r#"{"X-Zeta":"s3cret-header","Accept":"a","X-Zeta":"again"}"#
    );
    assert_eq!((row.args.as_str(), row.env.as_str()), ("[]", "{}"));
}

#[test]
fn non_utf8_working_dir_is_rejected_not_mangled() {
    use std::os::unix::ffi::OsStrExt;
    let dir = Path::new(std::ffi::OsStr::from_bytes(b"/srv/\xff"));
    let cmd = StdioCommand::new("x", vec![], BTreeMap::new(), Some(dir.into())).unwrap();
    let instance = Instance {
        spec: InstanceSpec::Stdio(cmd),
        ..stdio_instance()
    };
    assert!(matches!(
        instance_row(&instance),
        Err(Error::Invalid {
            what: "working directory",
            ..
        })
    ));
}

fn corrupt_field(err: Error) -> &'static str {
    match err {
        Error::Corrupt { table, field, .. } => {
            assert_eq!(table, INSTANCES);
            field
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn corrupt_rows_name_the_column_but_never_the_secret() {
    type Mutation = Box<dyn Fn(&mut instance::Model)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "env",
            Box::new(|r| r.env = r#"{"API_TOKEN": ["s3cret-env"]}"#.into()),
        ),
        ("args", Box::new(|r| r.args = r#""s3cret-env""#.into())),
        (
            "env",
            Box::new(|r| r.env = r#"{"API_TOKEN": "s3cret-env""#.into()),
        ),
        (
            "transport",
            Box::new(|r| r.transport = "carrier-pigeon".into()),
        ),
        ("weight", Box::new(|r| r.weight = 0)),
        ("command", Box::new(|r| r.command = None)),
        (
            "template_name",
            Box::new(|r| r.template_name = "a/b".into()),
        ),
        ("metadata", Box::new(|r| r.metadata = "[1]".into())),
    ];
    for (field, mutate) in cases {
        let mut row = stored(&stdio_instance());
        mutate(&mut row);
        let err = instance_from_row(row).unwrap_err();
        let shown = err.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("stdio-1"), "{shown}");
        assert_eq!(corrupt_field(err), field, "{shown}");
    }

    let mut row = stored(&http_instance());
    row.headers = r#"{"X-Zeta": "s3cret-header\n"}"#.into();
    let err = instance_from_row(row).unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert_eq!(corrupt_field(err), "headers");

    let mut row = stored(&http_instance());
    row.endpoint = None;
    assert_eq!(
        corrupt_field(instance_from_row(row).unwrap_err()),
        "endpoint"
    );
}

#[test]
fn templates_round_trip_and_validate() {
    let name = TemplateName::parse("tools").unwrap();
    let settings = LoadBalancerSettings::new(Strategy::Weighted, 15, 5, 2, 30, 4)
        .unwrap()
        .with_session_mode(SessionMode::Dedicated, 250)
        .unwrap();
    let row = template_row(&name, &settings, 10).unwrap();
    let mut model = template::Model {
        name: value(row.name),
        strategy: value(row.strategy),
        health_check_interval_s: value(row.health_check_interval_s),
        health_check_timeout_s: value(row.health_check_timeout_s),
        max_retries: value(row.max_retries),
        timeout_s: value(row.timeout_s),
        pool_size: value(row.pool_size),
        health_probe: value(row.health_probe),
        session_mode: value(row.session_mode),
        max_sessions: value(row.max_sessions),
        upstream_tls: value(row.upstream_tls),
        upstream_auth: value(row.upstream_auth),
        upstream_limits: value(row.upstream_limits),
        created_at_ms: value(row.created_at_ms),
        updated_at_ms: value(row.updated_at_ms),
    };
    assert_eq!(model.strategy, "weighted");
    assert_eq!(model.upstream_tls, None);
    assert_eq!(
        (model.session_mode.as_str(), model.max_sessions),
        ("dedicated", 250)
    );
    assert_eq!(
        template_from_row(&model).unwrap(),
        (name.clone(), settings.clone())
    );

    model.health_probe = "pong".to_owned();
    match template_from_row(&model).unwrap_err() {
        Error::Corrupt { field, .. } => assert_eq!(field, "health_probe"),
        other => panic!("{other:?}"),
    }
    model.health_probe = "ping".to_owned();

    model.session_mode = "exclusive".to_owned();
    match template_from_row(&model).unwrap_err() {
        Error::Corrupt { field, .. } => assert_eq!(field, "session_mode"),
        other => panic!("{other:?}"),
    }
    model.session_mode = "shared".to_owned();
    for bad in [0, -1, 10_001] {
        model.max_sessions = bad;
        match template_from_row(&model).unwrap_err() {
            Error::Corrupt { field, .. } => assert_eq!(field, "max_sessions", "{bad}"),
            other => panic!("{other:?}"),
        }
    }
    model.max_sessions = 100;

    // Upstream TLS settings: paths only, re-validated on the way out.
    let tls = gateway_core::UpstreamTls::new(
        Some("/etc/gw/ca.pem"),
        Some(true),
        Some("/etc/gw/client.pem"),
        Some("/etc/gw/client.key"),
    )
    .unwrap();
    let with_tls = settings.clone().with_upstream_tls(Some(tls));
    let stored_tls = value(template_row(&name, &with_tls, 10).unwrap().upstream_tls).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored_tls).unwrap(),
        serde_json::json!({"ca_bundle": "/etc/gw/ca.pem", "system_roots": true,
            "client_cert": "/etc/gw/client.pem", "client_key": "/etc/gw/client.key"})
    );
    model.upstream_tls = Some(stored_tls);
    assert_eq!(
        template_from_row(&model).unwrap().1.upstream_tls(),
        with_tls.upstream_tls()
    );
    for bad in [
        r#"{"ca_bundle": "relative.pem"}"#,
        r#"{"client_cert": "/c.pem"}"#,
        r#"{"ca_bundle": 7}"#,
        "{",
    ] {
        model.upstream_tls = Some(bad.to_owned());
        match template_from_row(&model).unwrap_err() {
            Error::Corrupt { field, .. } => assert_eq!(field, "upstream_tls", "{bad}"),
            other => panic!("{other:?}"),
        }
    }
    model.upstream_tls = None;

    // Upstream authentication: `static` is stored as NULL, others as JSON.
    assert_eq!(model.upstream_auth, None);
    let auth = gateway_core::UpstreamAuth::new(
        "token_exchange",
        Some("https://up"),
        Some("corp"),
        None,
        None,
    )
    .unwrap();
    let with_auth = settings.clone().with_upstream_auth(auth);
    let stored = value(template_row(&name, &with_auth, 10).unwrap().upstream_auth).unwrap();
    model.upstream_auth = Some(stored);
    assert_eq!(
        template_from_row(&model).unwrap().1.upstream_auth(),
        with_auth.upstream_auth()
    );
    model.upstream_auth = Some(r#"{"mode": "passthrough"}"#.to_owned());
    match template_from_row(&model).unwrap_err() {
        Error::Corrupt { field, .. } => assert_eq!(field, "upstream_auth"),
        other => panic!("{other:?}"),
    }
    model.upstream_auth = None;

    // Per-instance limits: the defaults are stored as NULL, others as JSON.
    assert_eq!(model.upstream_limits, None);
    let limits = gateway_core::UpstreamLimits::new(64, 0, 32, 4).unwrap();
    let with_limits = settings.clone().with_upstream_limits(limits);
    let stored = value(
        template_row(&name, &with_limits, 10)
            .unwrap()
            .upstream_limits,
    )
    .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored).unwrap(),
        serde_json::json!({"max_in_flight": 64, "max_pending": 0,
            "max_connections": 32, "idle_connections": 4})
    );
    model.upstream_limits = Some(stored);
    assert_eq!(
        template_from_row(&model).unwrap().1.upstream_limits(),
        &limits
    );
    for bad in [r#"{"max_in_flight": 0}"#, r#"{"max_queue": 1}"#, "{"] {
        model.upstream_limits = Some(bad.to_owned());
        match template_from_row(&model).unwrap_err() {
            Error::Corrupt { field, .. } => assert_eq!(field, "upstream_limits", "{bad}"),
            other => panic!("{other:?}"),
        }
    }
    model.upstream_limits = None;

    model.pool_size = 0;
    match template_from_row(&model).unwrap_err() {
        Error::Corrupt {
            table, key, field, ..
        } => {
            assert_eq!(
                (table, key.as_str(), field),
                (TEMPLATES, "tools", "pool_size")
            );
        }
        other => panic!("{other:?}"),
    }
    model.pool_size = 1;
    model.timeout_s = -1;
    assert!(
        template_from_row(&model)
            .unwrap_err()
            .to_string()
            .contains("timeout_s")
    );
    model.timeout_s = 1;
    model.strategy = "fastest".into();
    assert!(
        template_from_row(&model)
            .unwrap_err()
            .to_string()
            .contains("strategy")
    );
}
