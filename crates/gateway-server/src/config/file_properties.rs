//! Property-based fuzzing of the configuration file loader (`Settings::load_with_env`
//! with a file): documents built from the file's real keys (and some that are not),
//! holding any JSON values, plus arbitrary text. Every one loads or is refused with an
//! error naming a key and saying what is wrong; none panics. (The REST bodies the
//! `templates` block is made of are also under coverage-guided fuzzing:
//! `fuzz/fuzz_targets/rest_bodies.rs`.)

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{Overrides, Settings, test_env, tests::write};

const TOP: &[&str] = &[
    "host",
    "port",
    "database_url",
    "log_level",
    "log_format",
    "metrics_addr",
    "metrics",
    "default_strategy",
    "health_check_interval",
    "health_check_timeout",
    "max_retries",
    "request_timeout",
    "max_message_size",
    "unhealthy_threshold",
    "healthy_threshold",
    "failure_threshold",
    "health_probe",
    "auth",
    "jwt_secret",
    "jwt_expiry",
    "allow_stdio_registration",
    "endpoint_allowlist",
    "trusted_proxies",
    "rate_limit_user",
    "shutdown_grace",
    "tls_cert",
    "tls_key",
    "behind_tls_proxy",
    "max_connections",
    "public_url",
    "oauth_issuers",
    "templates",
    "nonsense",
];
const INSTANCE: &[&str] = &[
    "template_name",
    "instance_id",
    "endpoint",
    "transport",
    "command",
    "args",
    "env",
    "headers",
    "working_dir",
    "weight",
    "metadata",
    "bogus",
];
const BALANCER: &[&str] = &[
    "strategy",
    "health_check_interval",
    "health_check_timeout",
    "max_retries",
    "timeout",
    "pool_size",
    "health_probe",
    "session_mode",
    "max_sessions",
    "upstream_tls",
    "upstream_auth",
    "upstream_limits",
    "bogus",
];
const NESTED: &[&str] = &[
    "mode",
    "issuer",
    "audience",
    "ca_bundle",
    "system_roots",
    "client_cert",
    "client_key",
    "max_in_flight",
    "max_pending",
    "max_connections",
    "idle_connections",
    "bogus",
];

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0u64..100_000).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "0.0.0.0",
            "127.0.0.1",
            "round_robin",
            "weighted",
            "dedicated",
            "ping",
            "/healthz",
            "http://127.0.0.1:1/mcp",
            "https://x.example/mcp",
            "ftp://x",
            "/etc/passwd",
            "relative.pem",
            "sqlite::memory:",
            "debug",
            "json",
            "passthrough",
            "token_exchange",
            "é\u{0}\u{202e}",
        ])
        .prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
    ]
    .boxed()
}

/// Any JSON value, a few levels deep.
fn value() -> BoxedStrategy<Value> {
    scalar()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

/// An object with keys from `keys` and values from `values`.
fn object(keys: &'static [&'static str], values: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop::collection::vec((prop::sample::select(keys), values), 0..6)
        .prop_map(|pairs| {
            Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<Map<_, _>>(),
            )
        })
        .boxed()
}

/// A configuration file document: real keys with plausible or arbitrary values.
fn document() -> impl Strategy<Value = Value> {
    let nested = prop_oneof![object(NESTED, scalar()), value()].boxed();
    let balancer = prop_oneof![
        object(BALANCER, prop_oneof![scalar(), nested].boxed()),
        value()
    ];
    let instance = prop_oneof![object(INSTANCE, value()), value()];
    let template = (prop::collection::vec(instance, 0..3), balancer)
        .prop_map(|(i, lb)| serde_json::json!({"instances": i, "load_balancer": lb}));
    let templates = prop::collection::btree_map(
        prop_oneof![Just("fs".to_owned()), "[a-zA-Z0-9_. -]{0,12}"],
        prop_oneof![template, value()],
        0..3,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()));
    (object(TOP, value()), prop::option::of(templates)).prop_map(|(mut top, templates)| {
        if let (Some(t), Some(map)) = (templates, top.as_object_mut()) {
            map.insert("templates".to_owned(), t);
        }
        top
    })
}

/// Loads `text` as the configuration file: an answer, never a panic; a refusal names
/// a key and a reason.
fn loads_or_names_the_key(text: &str) -> Result<(), TestCaseError> {
    let file = write(text);
    let overrides = Overrides {
        config_file: Some(file.0.clone()),
        ..Default::default()
    };
    if let Err(e) = Settings::load_with_env(overrides, test_env(&[])) {
        prop_assert!(!e.key().is_empty(), "no key in {e}");
        prop_assert!(!e.to_string().is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_document_loads_or_is_refused_with_its_key(doc in document()) {
        loads_or_names_the_key(&doc.to_string())?;
    }

    #[test]
    fn any_text_loads_or_is_refused_with_its_key(text in "\\PC{0,200}") {
        loads_or_names_the_key(&text)?;
    }
}
