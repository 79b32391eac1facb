use std::time::Duration;

use super::*;
use crate::test_server::{Canned, install_crypto, serve_one};

#[test]
fn rejects_unusable_base_urls() {
    for raw in [
        "127.0.0.1:8080",
        "ftp://example.com",
        "not a url",
        "http://h/?x=1",
        "http://h/#frag",
        "mailto:someone@example.com",
    ] {
        let err = GatewayClient::builder(raw).build().unwrap_err();
        assert!(err.is_builder(), "{raw}: {err}");
        assert_eq!(err.status(), None);
        assert!(!err.is_retryable());
    }
}

#[test]
fn rejects_credentials_that_are_not_header_values() {
    install_crypto();
    let err = GatewayClient::builder("http://h")
        .bearer_token("line\nbreak")
        .build()
        .unwrap_err();
    assert!(err.is_builder());
    assert!(
        !err.to_string().contains("line"),
        "the secret is not echoed: {err}"
    );
    let err = GatewayClient::builder("http://h")
        .api_key("bad\u{7f}")
        .build()
        .unwrap_err();
    assert!(err.is_builder());
}

#[test]
fn builds_urls_under_the_base_and_encodes_segments() {
    install_crypto();
    let client = GatewayClient::new("http://127.0.0.1:8080").unwrap();
    assert_eq!(client.base_url(), "http://127.0.0.1:8080/");
    assert_eq!(
        client.url(&["gateway", "health"]).unwrap().as_str(),
        "http://127.0.0.1:8080/gateway/health"
    );
    for base in ["http://h/prefix", "http://h/prefix/"] {
        let client = GatewayClient::new(base).unwrap();
        assert_eq!(
            client.url(&["mcp", "t", "tools", "list"]).unwrap().as_str(),
            "http://h/prefix/mcp/t/tools/list"
        );
    }
    // A name can never add segments or a query.
    let url = client
        .url(&["gateway", "deregister", "a/b", "../x?y#z"])
        .unwrap();
    assert_eq!(url.path(), "/gateway/deregister/a%2Fb/..%2Fx%3Fy%23z");
    assert_eq!(url.query(), None);
}

#[test]
fn debug_never_prints_credentials() {
    let builder = GatewayClient::builder("http://h")
        .bearer_token("tok-secret")
        .api_key("key-secret");
    let debug = format!("{builder:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("<redacted>"));
}

#[tokio::test]
async fn sends_credentials_and_user_agent() {
    install_crypto();
    let (url, server) = serve_one(Canned::json("200 OK", r#"{"templates":["a","b"]}"#)).await;
    let client = GatewayClient::builder(&url)
        .bearer_token("tok-123")
        .api_key("key-456")
        .user_agent("sdk-test/1")
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert_eq!(client.templates().await.unwrap(), ["a", "b"]);
    let request = server.await.unwrap().remove(0);
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/gateway/templates")
    );
    assert_eq!(request.header("authorization"), Some("Bearer tok-123"));
    assert_eq!(request.header("x-api-key"), Some("key-456"));
    assert_eq!(request.header("user-agent"), Some("sdk-test/1"));
}

#[tokio::test]
async fn sends_no_credentials_by_default() {
    let (url, server) = serve_one(Canned::json("200 OK", r#"{"templates":[]}"#)).await;
    let client = crate::test_server::client(&url);
    assert!(client.templates().await.unwrap().is_empty());
    let request = server.await.unwrap().remove(0);
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.header("x-api-key"), None);
    assert!(
        request
            .header("user-agent")
            .unwrap()
            .starts_with("mcp-gateway-client/")
    );
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    fn assert_send<T: Send>(_: &T) {}
    assert_send_sync::<GatewayClient>();
    assert_send_sync::<GatewayClientBuilder>();
    assert_send_sync::<crate::Error>();

    install_crypto();
    let client = GatewayClient::new("http://127.0.0.1:9").unwrap();
    // The futures are only built, never polled.
    assert_send(&client.health());
    assert_send(&client.register(&crate::RegisterInstance::default()));
    assert_send(&client.call_tool("t", "n", serde_json::Value::Null));
}

#[test]
fn a_ca_bundle_that_cannot_be_used_is_a_builder_error_naming_the_file() {
    install_crypto();
    let dir = std::env::temp_dir().join(format!("gw-client-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let build = |path: &std::path::Path| {
        GatewayClient::builder("https://gw.example")
            .ca_bundle(path)
            .build()
            .unwrap_err()
    };
    let missing = dir.join("missing.pem");
    let err = build(&missing);
    assert!(err.is_builder(), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    let err = build(&empty);
    assert!(err.to_string().contains("empty.pem"), "{err}");
    assert!(err.to_string().contains("no certificate"), "{err}");
    let broken = dir.join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = build(&broken);
    assert!(err.to_string().contains("broken.pem"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
