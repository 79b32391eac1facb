//! API documentation served with no network: `/openapi.json` (valid OpenAPI 3.x listing
//! every endpoint), Swagger UI at `/docs` and ReDoc at `/redoc` with local assets only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_e2e::*;
use serde_json::Value;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");

/// Every endpoint of this issue, as (method, OpenAPI path).
const ENDPOINTS: [(&str, &str); 19] = [
    ("get", "/mcp/{template}/tools/list"),
    ("post", "/mcp/{template}/tools/call"),
    ("get", "/mcp/{template}/resources/list"),
    ("post", "/mcp/{template}/resources/read"),
    ("get", "/mcp/{template}/resources/templates/list"),
    ("get", "/mcp/{template}/prompts/list"),
    ("post", "/mcp/{template}/prompts/get"),
    ("get", "/mcp/{template}/health"),
    ("get", "/gateway/health"),
    ("get", "/gateway/stats"),
    ("get", "/gateway/registry"),
    ("get", "/gateway/templates"),
    ("post", "/gateway/register"),
    ("delete", "/gateway/deregister/{template}/{instance_id}"),
    ("post", "/gateway/templates/{template}/instances"),
    (
        "delete",
        "/gateway/templates/{template}/instances/{instance_id}",
    ),
    ("get", "/gateway/templates/{template}/load-balancer"),
    ("put", "/gateway/templates/{template}/load-balancer"),
    ("get", "/openapi.json"),
];

/// The values of `attr="..."` in `html`, in order.
fn attr_values(html: &str, attr: &str) -> Vec<String> {
    let needle = format!("{attr}=\"");
    let mut values = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&needle) {
        let after = &rest[at + needle.len()..];
        let end = after.find('"').unwrap();
        values.push(after[..end].to_owned());
        rest = &after[end..];
    }
    values
}

/// Panics if `text` names a URL on another host.
fn assert_no_remote_urls(what: &str, text: &str, own: &str) {
    for scheme in ["http://", "https://", "//cdn", "//fonts."] {
        for (at, _) in text.match_indices(scheme) {
            let url: String = text[at..].chars().take(80).collect();
            assert!(
                url.starts_with(own),
                "{what} references a remote URL: {url}"
            );
        }
    }
}

#[tokio::test]
async fn openapi_json_is_openapi_3_and_lists_every_endpoint() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let reply = gw.http().get("/openapi.json").await;
    let doc = reply.expect_status(200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        reply.headers
    );
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "OpenAPI version {version}");
    assert!(doc["info"]["title"].is_string());
    assert!(doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    let mut missing = Vec::new();
    for (method, path) in ENDPOINTS {
        // The document does not need to describe itself.
        if path == "/openapi.json" {
            continue;
        }
        if paths.get(path).and_then(|p| p.get(method)).is_none() {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "missing from /openapi.json: {missing:?}"
    );
    // Request bodies are described with schemas.
    for (method, path) in [
        ("post", "/gateway/register"),
        ("post", "/mcp/{template}/tools/call"),
        ("put", "/gateway/templates/{template}/load-balancer"),
    ] {
        let body = &paths[path][method]["requestBody"]["content"]["application/json"]["schema"];
        assert!(body.is_object(), "{method} {path} has no body schema");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "RegisterInstance",
        "InstanceInfo",
        "ErrorBody",
        "LoadBalancerConfig",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // Without --auth nothing asks for credentials.
    assert!(paths["/gateway/registry"]["get"]["security"].is_null());
    // `/` sends a browser to the docs.
    let root = gw.http().get("/").await;
    assert_eq!(root.status, 307, "{}", root.text);
    assert_eq!(root.header("location"), Some("/docs/"));

    // Every route in the document is really served (no 404 from the router fallback).
    let http = gw.http();
    for (method, path) in ENDPOINTS {
        let concrete = path
            .replace("{template}", "nope")
            .replace("{instance_id}", "nobody");
        let reply = match method {
            "get" => http.get(&concrete).await,
            "post" => http.post(&concrete, &serde_json::json!({})).await,
            "put" => http.put(&concrete, &serde_json::json!({})).await,
            _ => http.delete(&concrete).await,
        };
        assert!(
            reply.status != 405 && !reply.text.contains("no route for"),
            "{method} {concrete}: {} {}",
            reply.status,
            reply.text
        );
    }
}

#[tokio::test]
async fn openapi_json_passes_openapi_spec_validator() {
    let Some(python) = venv_python() else {
        return;
    };
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let doc = gw.http().get("/openapi.json").await.expect_status(200);
    let file = gw.db().dir().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let out = run(
        &python,
        [
            "-m".as_ref(),
            "openapi_spec_validator".as_ref(),
            file.as_os_str(),
        ],
        &[],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        out.code,
        Some(0),
        "openapi-spec-validator rejected /openapi.json:\n{}{}",
        out.stdout,
        out.stderr
    );
    assert!(out.stdout.contains("OK"), "{}", out.stdout);
}

#[tokio::test]
async fn swagger_ui_and_its_assets_load_from_the_gateway() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let http = gw.http();
    // `/docs` may redirect to `/docs/`.
    let first = http.get("/docs").await;
    let page = if (300..400).contains(&first.status) {
        let location = first.header("location").unwrap().to_owned();
        assert!(
            location.starts_with('/') || location.starts_with("./") || !location.contains("://"),
            "redirect to another host: {location}"
        );
        assert_eq!(location.trim_end_matches('/'), "/docs", "{location}");
        http.get("/docs/").await
    } else {
        first
    };
    assert_eq!(page.status, 200, "{}", page.text);
    let html = &page.text;
    assert!(html.contains("swagger-ui"), "not Swagger UI: {html}");
    assert_no_remote_urls("/docs/", html, &gw.base_url());

    let mut assets = attr_values(html, "src");
    assets.extend(attr_values(html, "href"));
    let scripts = attr_values(html, "src");
    assert!(
        scripts.iter().any(|s| s.contains("swagger-ui-bundle")),
        "{scripts:?}"
    );
    assert!(assets.iter().any(|s| s.ends_with(".css")), "{assets:?}");
    for asset in &assets {
        let path = match asset.strip_prefix("./") {
            Some(rel) => format!("/docs/{rel}"),
            None if asset.starts_with('/') => asset.clone(),
            None => format!("/docs/{asset}"),
        };
        let reply = http.get(&path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(!reply.text.is_empty(), "{path} is empty");
        if path.ends_with(".js") {
            assert!(
                reply
                    .header("content-type")
                    .is_some_and(|c| c.contains("javascript")),
                "{path}: {:?}",
                reply.headers
            );
        }
        if path.ends_with("swagger-initializer.js") {
            assert!(reply.text.contains("/openapi.json"), "{}", reply.text);
            assert_no_remote_urls(&path, &reply.text, &gw.base_url());
        }
    }
    assert!(
        assets.iter().any(|a| a.contains("swagger-initializer")),
        "{assets:?}"
    );
}

#[tokio::test]
async fn redoc_uses_only_its_local_script() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let http = gw.http();
    let page = http.get("/redoc").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    let html = &page.text;
    assert!(html.contains("<redoc"), "{html}");
    assert_eq!(attr_values(html, "spec-url"), ["/openapi.json"]);
    assert_eq!(attr_values(html, "src"), ["/redoc/redoc.standalone.js"]);
    assert_no_remote_urls("/redoc", html, &gw.base_url());
    let js = http.get("/redoc/redoc.standalone.js").await;
    assert_eq!(js.status, 200);
    assert!(
        js.header("content-type")
            .is_some_and(|c| c.contains("javascript")),
        "{:?}",
        js.headers
    );
    assert!(
        js.text.len() > 500_000,
        "the ReDoc bundle is only {} bytes",
        js.text.len()
    );
    assert!(js.text.contains("Redoc"), "not the ReDoc bundle");
}

#[tokio::test]
async fn every_operation_has_responses_and_a_tag() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let doc: Value = gw.http().get("/openapi.json").await.json();
    // Every operation has at least one response and a tag.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no responses"
            );
            assert!(op["tags"].is_array(), "{method} {path} has no tag");
        }
    }
}

#[tokio::test]
async fn with_auth_every_protected_operation_declares_security() {
    use gateway_e2e::auth::{AuthGateway, Cred};
    let gw = AuthGateway::builder(GATEWAY).start().await;
    let doc = gw
        .client()
        .get("/openapi.json", Cred::None)
        .await
        .expect_status(200);
    let public = ["/gateway/health", "/gateway/ready", "/auth/login"];
    let mut protected = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let security = &operation["security"];
            if public.contains(&path.as_str()) {
                assert!(security.is_null(), "{method} {path} is public: {security}");
                continue;
            }
            let names: Vec<String> = security
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} declares no security"))
                .iter()
                .flat_map(|r| r.as_object().unwrap().keys().cloned())
                .collect();
            // A bearer token everywhere; API keys too except where keys are refused
            // (creating keys).
            assert!(
                names.contains(&"bearer".to_owned()),
                "{method} {path}: {security}"
            );
            protected += 1;
        }
    }
    assert!(protected >= 25, "only {protected} protected operations");
    gw.stop().await;
}
