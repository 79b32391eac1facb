//! Small helpers to drive an [`Upstream`] from tests, and direct (gateway-less)
//! connections to compare the gateway's answers with.

use gateway_core::jsonrpc::{Outcome, Request, RequestId, Response, to_raw};
use gateway_transport::{CallOptions, Error, Upstream};
use serde_json::Value;

/// A request with params built from a JSON value.
pub fn request(id: impl Into<RequestId>, method: &str, params: Option<Value>) -> Request {
    Request::new(id.into(), method, params.map(|p| to_raw(&p)))
}

/// The result of a response as a JSON value; panics on an error response.
pub fn result(response: &Response) -> Value {
    match &response.outcome {
        Outcome::Result(raw) => serde_json::from_str(raw.get()).unwrap(),
        Outcome::Error(raw) => panic!("error response: {}", raw.get()),
    }
}

/// `tools/list` → the result value.
pub async fn list_tools(up: &Upstream) -> Result<Value, Error> {
    let r = up
        .call(request(1, "tools/list", None), CallOptions::default())
        .await?;
    Ok(result(&r))
}

/// `tools/call` → the result value.
pub async fn call_tool(up: &Upstream, name: &str, args: Value) -> Result<Value, Error> {
    let params = serde_json::json!({"name": name, "arguments": args});
    let r = up
        .call(
            request(1, "tools/call", Some(params)),
            CallOptions::default(),
        )
        .await?;
    Ok(result(&r))
}

/// A direct connection (no gateway) to an HTTP MCP endpoint, for comparisons.
pub fn direct_http(url: &str) -> Upstream {
    let spec = gateway_core::InstanceSpec::Http {
        url: gateway_core::EndpointUrl::parse(url).unwrap(),
        headers: gateway_core::Headers::default(),
    };
    connect_direct(&spec)
}

/// A direct connection (no gateway) to a stdio MCP server, for comparisons.
pub fn direct_stdio(program: &str, args: &[&str]) -> Upstream {
    let command = gateway_core::StdioCommand::new(
        program,
        args.iter().map(|a| (*a).to_owned()).collect(),
        Default::default(),
        None,
    )
    .unwrap();
    connect_direct(&gateway_core::InstanceSpec::Stdio(command))
}

fn connect_direct(spec: &gateway_core::InstanceSpec) -> Upstream {
    gateway_transport::Connector::new(gateway_transport::Options::default())
        .connect(gateway_core::InstanceId::parse("direct").unwrap(), spec)
        .unwrap()
}

/// Pages through `method` (a list) and returns (items, pages).
pub async fn drain(up: &Upstream, method: &str, key: &str) -> (Vec<Value>, usize) {
    let (mut items, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let params = cursor.as_ref().map(|c| serde_json::json!({"cursor": c}));
        let r = up
            .call(request(1, method, params), CallOptions::default())
            .await
            .unwrap();
        let page = result(&r);
        items.extend(page[key].as_array().unwrap().iter().cloned());
        pages += 1;
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (items, pages),
        }
    }
}

/// The `text` of the first content block.
pub fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

/// The tool names of a `tools/list` result.
pub fn tool_names(result: &Value) -> Vec<String> {
    result["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Client capabilities that make server-everything fetch `roots/list` from us (350 ms
/// after the handshake) and re-fetch it on `notifications/roots/list_changed`.
pub fn roots_capabilities() -> Value {
    serde_json::json!({"roots": {"listChanged": true}})
}

/// Proves `Upstream::notify` reaches server-everything (connected with
/// [`roots_capabilities`], nothing awaited yet): answers its `roots/list` requests with
/// our current roots, sends `notifications/roots/list_changed` after the first sync, and
/// checks that the server asked again and now reports the changed root through its
/// `get-roots-list` tool.
pub async fn roots_list_changed_reaches_server_everything(up: &Upstream) {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };
    use std::time::Duration;
    use tokio::sync::Mutex;

    const CHANGED: &str = "file:///tmp/gateway-changed-root";
    let roots = Arc::new(Mutex::new(vec!["file:///tmp/gateway-first-root"]));
    let asked = Arc::new(AtomicUsize::new(0));
    // Subscribed before the handshake: without a subscriber the adapter refuses
    // server requests, and the first roots/list comes right after `initialized`.
    let mut messages = up.subscribe();
    let responder = {
        let (up, roots, asked) = (up.clone(), roots.clone(), asked.clone());
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let request = match messages.recv().await {
                    Ok(gateway_transport::ServerMessage::Request(r)) => r,
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                if request.method != "roots/list" {
                    continue;
                }
                let list: Vec<Value> = roots
                    .lock()
                    .await
                    .iter()
                    .map(|uri| serde_json::json!({"uri": uri, "name": "test root"}))
                    .collect();
                let reply =
                    Response::result(request.id, to_raw(&serde_json::json!({"roots": list})));
                up.send_response(reply).await.unwrap();
                asked.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    up.ready().await.unwrap();
    crate::wait_until("the initial roots/list", Duration::from_secs(15), || {
        let n = asked.load(Ordering::SeqCst);
        async move { n >= 1 }
    })
    .await;
    roots.lock().await.push(CHANGED);
    let changed = gateway_core::jsonrpc::Notification {
        method: "notifications/roots/list_changed".to_owned(),
        params: None,
    };
    up.notify(changed).await.unwrap();
    crate::wait_until(
        "roots/list prompted by the notification",
        Duration::from_secs(15),
        || {
            let n = asked.load(Ordering::SeqCst);
            async move { n >= 2 }
        },
    )
    .await;
    // Our answer is stored after the server received it: poll until the tool shows it.
    crate::wait_until(
        "get-roots-list to show the changed root",
        Duration::from_secs(15),
        || async {
            let listed = call_tool(up, "get-roots-list", serde_json::json!({}))
                .await
                .unwrap();
            text(&listed).contains(CHANGED)
        },
    )
    .await;
    responder.abort();
}
