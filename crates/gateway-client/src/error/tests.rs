use std::time::Duration;

use crate::test_server::{Canned, client, serve_one};

#[tokio::test]
async fn conflict_decodes_the_error_body() {
    let body = r#"{"error":"conflict","detail":"instance \"i1\" is already registered"}"#;
    let (url, _server) = serve_one(Canned::json("409 Conflict", body)).await;
    let err = client(&url).templates().await.unwrap_err();
    assert!(err.is_conflict());
    assert!(err.is_client_error());
    assert!(!err.is_not_found() && !err.is_retryable() && !err.is_connect());
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.code(), Some("conflict"));
    assert_eq!(err.detail(), Some("instance \"i1\" is already registered"));
    assert_eq!(err.field(), None);
    assert_eq!(
        err.to_string(),
        "409 Conflict: instance \"i1\" is already registered"
    );
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let body = r#"{"error":"invalid_field","detail":"weight: must be between 1 and 10000","field":"weight","extra":1}"#;
    let (url, _server) = serve_one(Canned::json("400 Bad Request", body)).await;
    let err = client(&url).stats().await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.field(), Some("weight"));
    assert_eq!(err.code(), Some("invalid_field"));
    assert!(err.is_client_error() && !err.is_conflict());
}

#[tokio::test]
async fn not_found() {
    let body = r#"{"error":"template_not_found","detail":"template \"x\" not found"}"#;
    let (url, _server) = serve_one(Canned::json("404 Not Found", body)).await;
    let err = client(&url).list_tools("x").await.unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn unavailable_is_retryable_and_reads_retry_after() {
    let body = r#"{"error":"unavailable","detail":"template \"t\" has no instances"}"#;
    let canned = Canned::json("503 Service Unavailable", body).header("Retry-After", "5");
    let (url, _server) = serve_one(canned).await;
    let err = client(&url).list_tools("t").await.unwrap_err();
    assert!(err.is_retryable());
    assert!(!err.is_client_error());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
}

#[tokio::test]
async fn a_body_that_is_not_an_error_body_is_kept_as_text() {
    let (url, _server) = serve_one(Canned::text("502 Bad Gateway", "<html>nginx</html>\n")).await;
    let err = client(&url).registry().await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(
        (err.status(), err.detail(), err.code()),
        (Some(502), None, None)
    );
    assert_eq!(err.to_string(), "502 Bad Gateway: <html>nginx</html>");
    assert_eq!(err.retry_after(), None);
}

#[tokio::test]
async fn an_empty_error_body_shows_the_status() {
    let (url, _server) = serve_one(Canned::text("504 Gateway Timeout", "")).await;
    let err = client(&url).registry().await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.to_string(), "504 Gateway Timeout");
}

#[tokio::test]
async fn an_unexpected_success_body_is_a_decode_error() {
    let (url, _server) = serve_one(Canned::json("200 OK", r#"{"tools":"nope"}"#)).await;
    let err = client(&url).list_tools("t").await.unwrap_err();
    assert_eq!(err.status(), None);
    assert!(!err.is_retryable());
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn connection_refused_is_a_retryable_connect_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&url).health().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.status(), None);
    assert_eq!(err.to_string(), "cannot connect to the gateway");
    // The cause chain ends in the OS error.
    let mut source = std::error::Error::source(&err);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    assert!(last.unwrap().to_lowercase().contains("refused"));
}

#[tokio::test]
async fn a_silent_gateway_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let _accepted = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    crate::test_server::install_crypto();
    let client = crate::GatewayClient::builder(&url)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client.stats().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(!err.is_retryable());
}
