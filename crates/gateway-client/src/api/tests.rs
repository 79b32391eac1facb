use gateway_core::{
    Strategy,
    api::{CommandLine, LoadBalancerUpdate, RegisterInstance},
};
use serde_json::{Value, json};

use crate::test_server::{Canned, client, serve, serve_one};

const INSTANCE: &str = r#"{"id":"demo-1","template_name":"demo","transport":"stdio",
    "command":["python","server.py"],"working_dir":"/app","env_vars":{"TOKEN":"<redacted>"},
    "weight":2,"metadata":{},"status":"unknown",
    "created_at":"2026-11-24T07:30:00.000Z","updated_at":"2026-11-24T07:30:00.000Z"}"#;

#[tokio::test]
async fn register_posts_the_dto_and_decodes_the_instance() {
    let (url, server) = serve_one(Canned::json("201 Created", INSTANCE)).await;
    let registration = RegisterInstance {
        template_name: Some("demo".into()),
        command: Some(CommandLine::Line("python server.py".into())),
        working_dir: Some("/app".into()),
        env: Some([("TOKEN".to_owned(), "s3cret".to_owned())].into()),
        weight: Some(2),
        ..Default::default()
    };
    let info = client(&url).register(&registration).await.unwrap();
    assert_eq!(
        (info.id.as_str(), info.template_name.as_str()),
        ("demo-1", "demo")
    );
    assert_eq!(
        info.command.as_deref(),
        Some(&["python".to_owned(), "server.py".to_owned()][..])
    );
    assert_eq!(info.weight, 2);

    let request = server.await.unwrap().remove(0);
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/gateway/register")
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.json(),
        json!({"template_name":"demo","command":"python server.py","working_dir":"/app",
               "env":{"TOKEN":"s3cret"},"weight":2})
    );
}

#[tokio::test]
async fn deregister_encodes_the_path() {
    let body = r#"{"message":"Instance deregistered successfully","template_name":"demo","instance_id":"a b"}"#;
    let (url, server) = serve_one(Canned::json("200 OK", body)).await;
    let reply = client(&url).deregister("demo", "a b").await.unwrap();
    assert_eq!(reply["message"], "Instance deregistered successfully");
    let request = server.await.unwrap().remove(0);
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("DELETE", "/gateway/deregister/demo/a%20b")
    );
}

#[tokio::test]
async fn health_returns_an_unhealthy_report_on_503() {
    let report = r#"{"status":"unhealthy","database":"unhealthy"}"#;
    let (url, server) = serve(vec![
        Canned::json("200 OK", r#"{"status":"healthy","database":"healthy"}"#),
        Canned::json("503 Service Unavailable", report),
        Canned::json(
            "503 Service Unavailable",
            r#"{"error":"unavailable","detail":"down"}"#,
        ),
    ])
    .await;
    let client = client(&url);
    assert_eq!(client.health().await.unwrap()["status"], "healthy");
    assert_eq!(client.health().await.unwrap()["status"], "unhealthy");
    let err = client.health().await.unwrap_err();
    assert_eq!((err.status(), err.detail()), (Some(503), Some("down")));
    let paths: Vec<_> = server.await.unwrap().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/gateway/health"; 3]);
}

#[tokio::test]
async fn free_form_gateway_documents() {
    let (url, server) = serve(vec![
        Canned::json("200 OK", r#"{"total_requests":3,"active_connections":0}"#),
        Canned::json("200 OK", r#"{"total_templates":0,"templates":{}}"#),
    ])
    .await;
    let client = client(&url);
    assert_eq!(client.stats().await.unwrap()["total_requests"], 3);
    assert_eq!(client.registry().await.unwrap()["total_templates"], 0);
    let paths: Vec<_> = server.await.unwrap().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/gateway/stats", "/gateway/registry"]);
}

#[tokio::test]
async fn load_balancer_get_and_put() {
    let config = r#"{"strategy":"weighted","health_check_interval":30,"health_check_timeout":10,
        "max_retries":3,"timeout":60,"pool_size":1}"#;
    let (url, server) = serve(vec![
        Canned::json("200 OK", config),
        Canned::json("200 OK", config),
    ])
    .await;
    let client = client(&url);
    assert_eq!(
        client.load_balancer("demo").await.unwrap().strategy,
        Strategy::Weighted
    );
    let update = LoadBalancerUpdate {
        strategy: Some(Strategy::Weighted),
        ..Default::default()
    };
    assert_eq!(
        client
            .set_load_balancer("demo", &update)
            .await
            .unwrap()
            .max_retries,
        3
    );
    let requests = server.await.unwrap();
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/gateway/templates/demo/load-balancer")
    );
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        ("PUT", "/gateway/templates/demo/load-balancer")
    );
    assert_eq!(requests[1].json(), json!({"strategy":"weighted"}));
}

#[tokio::test]
async fn tools() {
    let list = r#"{"tools":[{"name":"echo","inputSchema":{"type":"object"},"execution":{"x":1}}],"count":1}"#;
    let result =
        r#"{"content":[{"type":"text","text":"hi"}],"isError":false,"structuredContent":{"a":1}}"#;
    let (url, server) = serve(vec![
        Canned::json("200 OK", list),
        Canned::json("200 OK", result),
        Canned::json("200 OK", result),
    ])
    .await;
    let client = client(&url);
    let tools = client.list_tools("demo").await.unwrap();
    assert_eq!(
        tools[0]["execution"],
        json!({"x":1}),
        "unknown fields survive"
    );
    let out = client
        .call_tool("demo", "echo", json!({"message":"hi"}))
        .await
        .unwrap();
    assert_eq!(out, serde_json::from_str::<Value>(result).unwrap());
    client.call_tool("demo", "echo", Value::Null).await.unwrap();

    let requests = server.await.unwrap();
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/mcp/demo/tools/list")
    );
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        ("POST", "/mcp/demo/tools/call")
    );
    assert_eq!(
        requests[1].json(),
        json!({"name":"echo","arguments":{"message":"hi"}})
    );
    assert_eq!(requests[2].json(), json!({"name":"echo"}));
}

#[tokio::test]
async fn resources() {
    let (url, server) = serve(vec![
        Canned::json("200 OK", r#"{"resources":[{"uri":"file:///a"}],"count":1}"#),
        Canned::json("200 OK", r#"{"contents":[{"uri":"file:///a","text":"x"}]}"#),
        Canned::json(
            "200 OK",
            r#"{"resourceTemplates":[{"uriTemplate":"file:///{p}"}],"count":1}"#,
        ),
    ])
    .await;
    let client = client(&url);
    assert_eq!(
        client.list_resources("fs").await.unwrap()[0]["uri"],
        "file:///a"
    );
    assert_eq!(
        client.read_resource("fs", "file:///a").await.unwrap()["contents"][0]["text"],
        "x"
    );
    assert_eq!(client.list_resource_templates("fs").await.unwrap().len(), 1);
    let requests = server.await.unwrap();
    let calls: Vec<_> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET", "/mcp/fs/resources/list"),
            ("POST", "/mcp/fs/resources/read"),
            ("GET", "/mcp/fs/resources/templates/list")
        ]
    );
    assert_eq!(requests[1].json(), json!({"uri":"file:///a"}));
}

#[tokio::test]
async fn prompts_and_template_health() {
    let (url, server) = serve(vec![
        Canned::json("200 OK", r#"{"prompts":[{"name":"greet"}],"count":1}"#),
        Canned::json("200 OK", r#"{"messages":[]}"#),
        Canned::json("200 OK", r#"{"template_name":"p","total_instances":1,"healthy_instances":1,"health_percentage":100.0,"instances":{}}"#),
    ])
    .await;
    let client = client(&url);
    assert_eq!(client.list_prompts("p").await.unwrap()[0]["name"], "greet");
    assert_eq!(
        client
            .get_prompt("p", "greet", json!({"who":"you"}))
            .await
            .unwrap(),
        json!({"messages":[]})
    );
    assert_eq!(
        client.template_health("p").await.unwrap()["health_percentage"],
        100.0
    );
    let requests = server.await.unwrap();
    let calls: Vec<_> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET", "/mcp/p/prompts/list"),
            ("POST", "/mcp/p/prompts/get"),
            ("GET", "/mcp/p/health")
        ]
    );
    assert_eq!(
        requests[1].json(),
        json!({"name":"greet","arguments":{"who":"you"}})
    );
}
