//! The Rust SDK (`gateway-client`) against the real gateway binary: every API area, and
//! the error predicates a caller branches on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_client::{GatewayClient, LoadBalancerUpdate, RegisterInstance, Strategy};
use gateway_e2e::*;
use serde_json::json;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");
const PAGED: &str = env!("CARGO_BIN_EXE_paged-fixture");

fn client(gw: &TestGateway) -> GatewayClient {
    install_crypto_provider();
    GatewayClient::builder(gw.base_url())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn http_instance(template: &str, id: &str, url: &str) -> RegisterInstance {
    RegisterInstance {
        template_name: Some(template.into()),
        instance_id: Some(id.into()),
        endpoint: Some(url.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_sdk_drives_every_api_area() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let sdk = client(&gw);
    let a = EchoHttp::spawn(ECHO, 0, "sdk-a").await;
    let b = EchoHttp::spawn(ECHO, 0, "sdk-b").await;

    // Registry.
    let info = sdk
        .register(&http_instance("echo", "sdk-a", &a.url()))
        .await
        .unwrap();
    assert_eq!(
        (info.id.as_str(), info.transport.as_str()),
        ("sdk-a", "http")
    );
    sdk.register(&RegisterInstance {
        weight: Some(3),
        ..http_instance("echo", "sdk-b", &b.url())
    })
    .await
    .unwrap();
    let paged = sdk
        .register(&RegisterInstance {
            template_name: Some("paged".into()),
            command: Some(gateway_client::CommandLine::List(vec![PAGED.into()])),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(paged.transport, "stdio");
    assert_eq!(sdk.templates().await.unwrap(), ["echo", "paged"]);
    gw.wait_healthy("echo", 2).await;
    gw.wait_healthy("paged", 1).await;
    let registry = sdk.registry().await.unwrap();
    assert_eq!(registry["total_instances"], 3, "{registry}");

    // Tools: results verbatim, a tool error is Ok with isError.
    let tools = sdk.list_tools("echo").await.unwrap();
    assert_eq!(tools.len(), 6);
    let sum = sdk
        .call_tool("echo", "add", json!({"a": 1, "b": 2}))
        .await
        .unwrap();
    assert_eq!(sum["structuredContent"]["result"], 3);
    let failed = sdk.call_tool("echo", "fail", json!({})).await.unwrap();
    assert_eq!(failed["isError"], true);

    // Resources and prompts, every page drained.
    assert_eq!(sdk.list_resources("paged").await.unwrap().len(), 5);
    assert_eq!(sdk.list_resource_templates("paged").await.unwrap().len(), 3);
    let read = sdk.read_resource("paged", "paged://r/2").await.unwrap();
    assert_eq!(read["contents"][0]["text"], "content of paged://r/2");
    assert_eq!(sdk.list_prompts("paged").await.unwrap().len(), 3);
    let prompt = sdk.get_prompt("paged", "p3", json!({})).await.unwrap();
    assert_eq!(prompt["messages"][0]["content"]["text"], "prompt p3");

    // Health and stats.
    let health = sdk.health().await.unwrap();
    assert!(health["status"].is_string(), "{health}");
    let template = sdk.template_health("echo").await.unwrap();
    assert_eq!(template["healthy_instances"], 2, "{template}");
    let stats = sdk.stats().await.unwrap();
    assert!(stats["total_requests"].as_u64().unwrap() >= 3, "{stats}");

    // Load-balancer settings: weighted 1:3 is in force at once.
    let settings = sdk
        .set_load_balancer(
            "echo",
            &LoadBalancerUpdate {
                strategy: Some(Strategy::Weighted),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(settings.strategy, Strategy::Weighted);
    assert_eq!(sdk.load_balancer("echo").await.unwrap(), settings);
    let mut b_count = 0;
    for _ in 0..8 {
        let who = sdk.call_tool("echo", "whoami", json!({})).await.unwrap();
        if who["content"][0]["text"] == "sdk-b" {
            b_count += 1;
        }
    }
    // Weights 1:3 (exact ratios are checked in balancing.rs).
    assert!(
        b_count >= 5,
        "weights 1:3 over 8 calls, sdk-b got {b_count}"
    );

    // Deregistration.
    sdk.deregister("echo", "sdk-a").await.unwrap();
    let again = sdk.deregister("echo", "sdk-a").await.unwrap_err();
    assert!(again.is_not_found(), "{again}");
}

#[tokio::test]
async fn sdk_errors_carry_status_code_and_field() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let sdk = client(&gw);
    let echo = EchoHttp::spawn(ECHO, 0, "e").await;
    sdk.register(&http_instance("echo", "e1", &echo.url()))
        .await
        .unwrap();

    let dup = sdk
        .register(&http_instance("echo", "e1", &echo.url()))
        .await
        .unwrap_err();
    assert!(dup.is_conflict() && dup.is_client_error(), "{dup}");
    assert_eq!(dup.code(), Some("conflict"));

    let invalid = sdk
        .register(&RegisterInstance {
            endpoint: Some(echo.url()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.status(), Some(400));
    assert_eq!(invalid.field(), Some("template_name"), "{invalid}");

    let missing = sdk.list_tools("nope").await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert_eq!(missing.code(), Some("template_not_found"));
    assert!(missing.detail().unwrap().contains("nope"));

    // No instance left: 503, retryable, with the gateway's Retry-After.
    sdk.deregister("echo", "e1").await.unwrap();
    let unavailable = sdk
        .call_tool("echo", "echo", json!({"message": "x"}))
        .await
        .unwrap_err();
    assert_eq!(unavailable.status(), Some(503), "{unavailable}");
    assert!(unavailable.is_retryable());
    assert!(unavailable.retry_after().is_some(), "{unavailable}");

    // Nothing listening at all.
    let nowhere = GatewayClient::new(format!("http://127.0.0.1:{}", free_port())).unwrap();
    let refused = nowhere.health().await.unwrap_err();
    assert!(refused.is_connect() && refused.is_retryable(), "{refused}");
    assert_eq!(refused.status(), None);
}
