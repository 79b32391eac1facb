//! The predecessor's clients keep working on the routes it had: its instance body on
//! `POST /gateway/templates/{t}/instances` and its API-key body on `POST /auth/api-keys`
//! are accepted (its extra fields mapped or ignored, never silently wrong), while the
//! guide's own registration route stays strict.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gateway_e2e::{
    auth::{ADMIN_PASSWORD, AuthGateway, Cred},
    *,
};
use serde_json::json;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

#[tokio::test]
async fn the_predecessors_instance_body_registers_on_its_route() {
    let gw = TestGateway::start(GATEWAY).await;
    let echo = EchoHttp::spawn(ECHO, 0, "legacy-echo").await;
    // What the predecessor's ServerInstanceCreate serialises.
    let body = json!({
        "id": "legacy-1", "template_name": "legacy", "endpoint": echo.url(),
        "command": null, "transport": "http", "status": "healthy", "backend": "docker",
        "container_id": null, "deployment_id": null, "namespace": null, "working_dir": null,
        "env_vars": null, "last_health_check": null, "consecutive_failures": 0,
        "is_active": true, "instance_metadata": {"zone": "eu-1"},
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
    });
    let created = gw
        .http()
        .post("/gateway/templates/legacy/instances", &body)
        .await
        .expect_status(201);
    assert_eq!(created["id"], "legacy-1", "{created}");
    assert_eq!(created["metadata"]["zone"], "eu-1", "{created}");
    gw.wait_healthy("legacy", 1).await;
    let call = gw.call_tool("legacy", "add", json!({"a": 1, "b": 2})).await;
    assert_eq!(call["content"][0]["text"], "3", "{call}");

    // A disabled instance would be silently wrong: refused, naming the field.
    let off = gw
        .http()
        .post(
            "/gateway/templates/legacy/instances",
            &json!({"id": "legacy-2", "endpoint": echo.url(), "is_active": false}),
        )
        .await
        .expect_error(400, "invalid_field");
    assert_eq!(off["field"], "is_active", "{off}");
    // Fields of neither shape are still refused.
    gw.http()
        .post(
            "/gateway/templates/legacy/instances",
            &json!({"endpoint": echo.url(), "colour": "blue"}),
        )
        .await
        .expect_status(400);
    // The guide's route keeps its strict shape.
    let strict = gw
        .http()
        .post(
            "/gateway/register",
            &json!({"template_name": "legacy", "endpoint": echo.url(), "status": "healthy"}),
        )
        .await
        .expect_status(400);
    assert!(
        strict["detail"].as_str().unwrap().contains("status"),
        "{strict}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn the_predecessors_api_key_body_creates_a_key() {
    let gw = AuthGateway::builder(GATEWAY).start().await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    // What the predecessor's APIKeyCreate serialises (its user_id is its own numbering).
    let reply = c
        .post(
            "/auth/api-keys",
            Cred::Bearer(&admin),
            &json!({"name": "legacy-ci", "description": "from the old client", "scopes": ["mcp:read"],
                    "is_active": true, "expires_at": "2030-01-01T00:00:00Z", "user_id": 1}),
        )
        .await;
    let created = reply.expect_status(201);
    assert!(created["key"].as_str().unwrap().len() > 20, "{created}");
    // Whole seconds from now: the key expires within the second before the time asked.
    let expires = created["expires_at"].as_str().unwrap();
    assert!(
        expires.starts_with("2030-01-01T00:00:00") || expires.starts_with("2029-12-31T23:59:59"),
        "{created}"
    );
    let key = created["key"].as_str().unwrap();
    c.get("/gateway/health", Cred::Key(key))
        .await
        .expect_status(200);

    for (body, field) in [
        (json!({"name": "k", "is_active": false}), "is_active"),
        (
            json!({"name": "k", "expires_at": "next week"}),
            "expires_at",
        ),
        (
            json!({"name": "k", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"name": "k", "expires_at": "2099-01-01T00:00:00Z"}),
            "expires_at",
        ),
    ] {
        let refused = c
            .post("/auth/api-keys", Cred::Bearer(&admin), &body)
            .await
            .expect_error(400, "invalid_field");
        assert_eq!(refused["field"], field, "{refused}");
    }
    gw.stop().await;
}
