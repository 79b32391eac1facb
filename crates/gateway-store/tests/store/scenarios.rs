//! Scenarios every backend must pass, each on a freshly migrated [`Store`].

use std::collections::BTreeMap;

use gateway_core::{
    EndpointUrl, Headers, Instance, InstanceId, InstanceSpec, LoadBalancerSettings, SessionMode,
    StdioCommand, Strategy, TemplateName, Weight,
};
use gateway_store::{Error, Store};
use serde_json::json;

pub(crate) fn name(s: &str) -> TemplateName {
    TemplateName::parse(s).unwrap()
}

pub(crate) fn id(s: &str) -> InstanceId {
    InstanceId::parse(s).unwrap()
}

fn metadata(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().unwrap().clone()
}

pub(crate) fn http(template: &str, instance: &str, created_at_ms: i64) -> Instance {
    let headers = Headers::new([
        ("X-Zeta".to_owned(), "z".to_owned()),
        (
            "Authorization".to_owned(),
            "Bearer s3cret-header".to_owned(),
        ),
        ("X-Zeta".to_owned(), "second".to_owned()),
    ])
    .unwrap();
    Instance {
        id: id(instance),
        template: name(template),
        spec: InstanceSpec::Http {
            url: EndpointUrl::parse("http://127.0.0.1:7071/mcp?x=1").unwrap(),
            headers,
        },
        weight: Weight::new(5).unwrap(),
        metadata: metadata(json!({"region": "eu", "nested": {"list": [1, 2.5, null, true]}})),
        created_at_ms,
        updated_at_ms: created_at_ms + 1,
    }
}

pub(crate) fn sse(template: &str, instance: &str, created_at_ms: i64) -> Instance {
    Instance {
        id: id(instance),
        template: name(template),
        spec: InstanceSpec::Sse {
            url: EndpointUrl::parse("https://mcp.example.com/sse").unwrap(),
            headers: Headers::default(),
        },
        weight: Weight::ONE,
        metadata: Default::default(),
        created_at_ms,
        updated_at_ms: created_at_ms,
    }
}

pub(crate) fn stdio(template: &str, instance: &str, created_at_ms: i64) -> Instance {
    let env = BTreeMap::from([
        ("TOKEN".to_owned(), "s3cret-env".to_owned()),
        ("A_FIRST".to_owned(), "1".to_owned()),
        ("EMPTY".to_owned(), String::new()),
    ]);
    let cmd = StdioCommand::new(
        "python3",
        vec![
            "--z".into(),
            "--a".into(),
            "two words".into(),
            "ünïcødé 🚀".into(),
        ],
        env,
        Some("/srv/mcp servers/time".into()),
    )
    .unwrap();
    Instance {
        id: id(instance),
        template: name(template),
        spec: InstanceSpec::Stdio(cmd),
        weight: Weight::new(i64::from(Weight::MAX)).unwrap(),
        metadata: metadata(json!({"emoji": "🚀", "big": 9_007_199_254_740_993_i64, "neg": -1.5})),
        created_at_ms,
        updated_at_ms: created_at_ms + 60_000,
    }
}

fn assert_conflict(result: Result<(), Error>, key: &str) {
    match result {
        Err(err @ Error::Conflict { .. }) => {
            let shown = err.to_string();
            assert!(shown.contains(key), "{shown}");
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        other => panic!("expected Conflict for {key}, got {other:?}"),
    }
}

/// Insert, list, get, count and delete instances of all three transports; every field
/// survives, including order-sensitive ones, and keys are case-sensitive.
pub(crate) async fn round_trip(store: &Store) {
    let a_http = http("alpha", "a-http", 1_000);
    let a_sse = sse("alpha", "a-sse", 500);
    let b_stdio = stdio("Beta", "b-stdio", 2_000);
    for instance in [&a_http, &a_sse, &b_stdio] {
        store.insert_instance(instance).await.unwrap();
    }

    // By template (byte order: "Beta" < "alpha"), then created_at, then id.
    let listed = store.list_instances().await.unwrap();
    assert_eq!(listed, [b_stdio.clone(), a_sse.clone(), a_http.clone()]);
    for instance in [&a_http, &a_sse, &b_stdio] {
        assert_eq!(
            store.get_instance(&instance.id).await.unwrap().as_ref(),
            Some(instance)
        );
    }
    assert_eq!(store.get_instance(&id("nope")).await.unwrap(), None);
    assert_eq!(store.count_instances(&name("alpha")).await.unwrap(), 2);
    assert_eq!(store.count_instances(&name("Beta")).await.unwrap(), 1);
    assert_eq!(store.count_instances(&name("nope")).await.unwrap(), 0);

    // Templates were created on the fly, with default settings.
    let templates = store.list_templates().await.unwrap();
    assert_eq!(
        templates,
        [
            (name("Beta"), LoadBalancerSettings::default()),
            (name("alpha"), LoadBalancerSettings::default())
        ]
    );

    // Keys are case-sensitive on every backend (MySQL's default collation is not).
    let upper = sse("alpha", "Case-1", 3_000);
    let lower = sse("alpha", "case-1", 3_000);
    store.insert_instance(&upper).await.unwrap();
    store.insert_instance(&lower).await.unwrap();
    store
        .insert_instance(&sse("ALPHA", "x-1", 1))
        .await
        .unwrap();
    assert_eq!(store.get_instance(&id("CASE-1")).await.unwrap(), None);
    assert_eq!(
        store.get_instance(&id("case-1")).await.unwrap(),
        Some(lower.clone())
    );
    assert_eq!(store.count_instances(&name("alpha")).await.unwrap(), 4);
    assert_eq!(store.count_instances(&name("ALPHA")).await.unwrap(), 1);
    assert_eq!(store.list_templates().await.unwrap().len(), 3);
    let ids: Vec<String> = store
        .list_instances()
        .await
        .unwrap()
        .iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(
        ids,
        ["x-1", "b-stdio", "a-sse", "a-http", "Case-1", "case-1"]
    );

    // Deleting needs the right template.
    assert!(
        !store
            .delete_instance(&name("alpha"), &id("b-stdio"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_instance(&name("alpha"), &id("nope"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_instance(&name("nope"), &id("nope"))
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_instance(&name("Beta"), &id("b-stdio"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_instance(&name("Beta"), &id("b-stdio"))
            .await
            .unwrap()
    );
    assert_eq!(store.get_instance(&id("b-stdio")).await.unwrap(), None);
    assert_eq!(store.count_instances(&name("Beta")).await.unwrap(), 0);
    // The template outlives its last instance.
    assert!(
        store
            .template_settings(&name("Beta"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.get_instance(&id("a-http")).await.unwrap(),
        Some(a_http)
    );
}

/// A taken id is a Conflict in any template, the failed insert leaves nothing behind,
/// and racing inserts of one id produce exactly one winner.
pub(crate) async fn conflicts(store: &Store) {
    store
        .insert_instance(&http("alpha", "dup", 1))
        .await
        .unwrap();
    assert_conflict(
        store.insert_instance(&stdio("alpha", "dup", 2)).await,
        "dup",
    );
    assert_conflict(store.insert_instance(&sse("gamma", "dup", 3)).await, "dup");
    // One transaction: the template the failed insert created is rolled back.
    assert_eq!(store.template_settings(&name("gamma")).await.unwrap(), None);
    assert_eq!(
        store.get_instance(&id("dup")).await.unwrap(),
        Some(http("alpha", "dup", 1))
    );

    let racers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.insert_instance(&stdio("racing", "same", i)).await })
        })
        .collect();
    let mut wins = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(()) => wins += 1,
            other => assert_conflict(other, "same"),
        }
    }
    assert_eq!(wins, 1);

    // Concurrent first instances of a new template all succeed.
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_instance(&sse("fresh", &format!("f-{i}"), i))
                    .await
            })
        })
        .collect();
    for racer in racers {
        racer.await.unwrap().unwrap();
    }
    assert_eq!(store.count_instances(&name("fresh")).await.unwrap(), 8);
}

/// Deleting a template deletes its instances (foreign key ON DELETE CASCADE) and no other.
pub(crate) async fn cascade(store: &Store) {
    store
        .insert_instance(&http("doomed", "d-1", 1))
        .await
        .unwrap();
    store
        .insert_instance(&stdio("doomed", "d-2", 2))
        .await
        .unwrap();
    store.insert_instance(&sse("kept", "k-1", 3)).await.unwrap();

    assert!(store.delete_template(&name("doomed")).await.unwrap());
    assert_eq!(store.count_instances(&name("doomed")).await.unwrap(), 0);
    assert_eq!(store.get_instance(&id("d-1")).await.unwrap(), None);
    assert_eq!(store.get_instance(&id("d-2")).await.unwrap(), None);
    assert_eq!(
        store.list_instances().await.unwrap(),
        [sse("kept", "k-1", 3)]
    );
    assert!(!store.delete_template(&name("doomed")).await.unwrap());
    assert_eq!(
        store.template_settings(&name("doomed")).await.unwrap(),
        None
    );
    // The id is free again.
    store
        .insert_instance(&http("doomed", "d-1", 4))
        .await
        .unwrap();
}

/// `ensure_template` creates defaults once; `upsert_template` inserts or updates.
pub(crate) async fn settings(store: &Store) {
    let t = name("tools");
    assert_eq!(store.template_settings(&t).await.unwrap(), None);
    assert_eq!(
        store.ensure_template(&t).await.unwrap(),
        LoadBalancerSettings::default()
    );

    let long_path = format!(
        "/{}",
        "p".repeat(gateway_core::UpstreamTls::MAX_PATH_LEN - 1)
    );
    let tls = gateway_core::UpstreamTls::new(
        Some(&long_path),
        Some(true),
        Some("/etc/gw/client.pem"),
        Some("/etc/gw/ключ.key"),
    )
    .unwrap();
    let custom = LoadBalancerSettings::new(Strategy::LeastConnections, 3600, 300, 10, 3600, 64)
        .unwrap()
        .with_health_probe("/healthz?deep=1".parse().unwrap())
        .with_session_mode(SessionMode::Dedicated, 10_000)
        .unwrap()
        .with_upstream_tls(Some(tls));
    store.upsert_template(&t, &custom).await.unwrap();
    assert_eq!(
        store.template_settings(&t).await.unwrap(),
        Some(custom.clone())
    );
    // ensure does not reset existing settings.
    assert_eq!(store.ensure_template(&t).await.unwrap(), custom);

    let other = LoadBalancerSettings::new(Strategy::Random, 1, 1, 0, 1, 1).unwrap();
    store.upsert_template(&name("aaa"), &other).await.unwrap();
    store
        .upsert_template(&t, &other.clone().with_strategy(Strategy::HealthBased))
        .await
        .unwrap();
    assert_eq!(
        store.list_templates().await.unwrap(),
        [
            (name("aaa"), other.clone()),
            (name("tools"), other.with_strategy(Strategy::HealthBased))
        ]
    );

    // Settings changes keep the template's instances.
    store
        .insert_instance(&sse("tools", "t-1", 1))
        .await
        .unwrap();
    store.upsert_template(&t, &custom).await.unwrap();
    assert_eq!(store.count_instances(&t).await.unwrap(), 1);

    assert!(store.delete_template(&name("aaa")).await.unwrap());
    assert!(!store.delete_template(&name("aaa")).await.unwrap());
    assert_eq!(store.list_templates().await.unwrap(), [(t, custom)]);
}
