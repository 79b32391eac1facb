//! Unit tests of the transport-independent JSON-RPC handler.

use serde_json::{Value, json};

use super::EchoConfig;
use super::rpc::{Incoming, handle_request_body_era, parse};

async fn call(message: Value) -> Value {
    let bytes = serde_json::to_vec(&message).unwrap();
    match parse(&bytes).unwrap() {
        Incoming::Request(request) => {
            handle_request_body_era(request, &EchoConfig::new("unit"), None).await
        }
        other => panic!("not a request: {other:?}"),
    }
}

fn modern_meta() -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"})
}

#[tokio::test]
async fn echoes_string_and_number_ids() {
    let response = call(json!({"jsonrpc": "2.0", "id": "abc", "method": "ping"})).await;
    assert_eq!(
        response,
        json!({"jsonrpc": "2.0", "id": "abc", "result": {}})
    );
    let response = call(json!({"jsonrpc": "2.0", "id": 42, "method": "ping"})).await;
    assert_eq!(response["id"], json!(42));
    assert!(response["id"].is_u64());
    let response = call(json!({"jsonrpc": "2.0", "id": "7", "method": "ping"})).await;
    assert_eq!(response["id"], json!("7"));
}

#[tokio::test]
async fn unknown_method_and_parse_error() {
    let response = call(json!({"jsonrpc": "2.0", "id": 1, "method": "nope/nope"})).await;
    assert_eq!(response["error"]["code"], -32601);
    assert_eq!(response["id"], 1);

    let (id, error) = parse(b"{\"jsonrpc\": \"2.0\", \"id\": 1, ").unwrap_err();
    assert_eq!((id, error.code), (Value::Null, -32700));
    let (_, error) = parse(b"[]").unwrap_err();
    assert_eq!(error.code, -32600);
    let (id, error) = parse(br#"{"jsonrpc":"2.0","id":3}"#).unwrap_err();
    assert_eq!((id, error.code), (json!(3), -32600));
}

#[test]
fn classifies_messages() {
    assert!(matches!(
        parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
        Ok(Incoming::Notification { .. })
    ));
    assert!(matches!(
        parse(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
        Ok(Incoming::Response)
    ));
}

#[tokio::test]
async fn initialize_negotiates_legacy_versions() {
    for (requested, expected) in [
        ("2025-03-26", "2025-03-26"),
        ("2026-07-28", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let response = call(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": requested, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}))
        .await;
        assert_eq!(response["result"]["protocolVersion"], expected);
        assert_eq!(response["result"]["serverInfo"]["name"], "echo-server");
        assert_eq!(
            response["result"]["capabilities"],
            json!({"tools": {"listChanged": false}})
        );
    }
}

#[tokio::test]
async fn modern_results_are_decorated_and_versions_checked() {
    let response = call(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 2, "b": 3}, "_meta": modern_meta()}}))
    .await;
    let result = &response["result"];
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["structuredContent"], json!({"result": 5}));
    assert_eq!(result["content"][0], json!({"type": "text", "text": "5"}));
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "echo-server"
    );

    let response = call(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2027-01-01"}}}))
    .await;
    assert_eq!(response["error"]["code"], -32022);
    assert_eq!(response["error"]["data"]["requested"], "2027-01-01");
    assert_eq!(response["error"]["data"]["supported"][0], "2026-07-28");

    let legacy = call(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})).await;
    assert!(legacy["result"].get("resultType").is_none());
    let discover = call(json!({"jsonrpc": "2.0", "id": 4, "method": "server/discover"})).await;
    assert_eq!(discover["result"]["resultType"], "complete");
    assert_eq!(
        discover["result"]["supportedVersions"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn tools_behave() {
    let tools = call(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})).await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["echo", "add", "sleep_ms", "fail", "crash", "whoami"]
    );
    for tool in tools["result"]["tools"].as_array().unwrap() {
        assert_eq!(tool["inputSchema"]["type"], "object");
    }

    let tool = |name: &str, arguments: Value| {
        call(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}),
        )
    };
    let echo = tool("echo", json!({"message": "hi"})).await;
    assert_eq!(
        echo["result"],
        json!({"content": [{"type": "text", "text": "hi"}], "isError": false})
    );
    let bad = tool("add", json!({"a": "1", "b": 2})).await;
    assert_eq!(bad["result"]["isError"], true);
    let missing = tool("echo", json!({})).await;
    assert_eq!(missing["result"]["isError"], true);
    let fail = tool("fail", json!({"message": "boom"})).await;
    assert_eq!(
        fail["result"],
        json!({"content": [{"type": "text", "text": "boom"}], "isError": true})
    );
    let whoami = tool("whoami", json!({})).await;
    assert_eq!(
        whoami["result"]["structuredContent"],
        json!({"instance_id": "unit", "pid": std::process::id()})
    );
    let slept = tool("sleep_ms", json!({"ms": 1})).await;
    assert_eq!(slept["result"]["content"][0]["text"], "slept 1ms");
    let unknown = tool("nope", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32602);
    assert_eq!(unknown["error"]["message"], "unknown tool: nope");
    let bad_params =
        call(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": [1]})).await;
    assert_eq!(bad_params["error"]["code"], -32602);
}
