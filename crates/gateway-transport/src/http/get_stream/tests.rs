//! The GET stream listener against an in-process mock Streamable HTTP server whose GET
//! streams the tests write to (and whose disconnects they observe).

use std::{convert::Infallible, sync::Arc, time::Duration};

use bytes::Bytes;
use gateway_core::{
    InstanceId,
    jsonrpc::{Request, RequestId},
};
use http::{HeaderMap, HeaderValue, Response};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::backoff;
use crate::{
    EraPreference, Options, ServerMessage,
    http::{HttpClient, streamable::StreamableUpstream},
    session::outbound::Identity,
};

/// How the mock answers a GET.
#[derive(Clone, Copy)]
enum GetReply {
    /// 200 `text/event-stream`; the test gets the stream's writer.
    Stream,
    Status(u16),
}

#[derive(Default)]
struct Seen {
    gets: Vec<HeaderMap>,
    posts: Vec<Value>,
    deletes: usize,
    /// The live session is `s-{generation}`; older ids get 404.
    generation: u32,
}

struct Mock {
    url: String,
    seen: Arc<Mutex<Seen>>,
    /// One writer per GET stream opened; dropping it ends that stream.
    streams: mpsc::UnboundedReceiver<mpsc::Sender<Bytes>>,
}

type Body = BoxBody<Bytes, Infallible>;

impl Mock {
    async fn start(modern: bool, get: GetReply) -> Mock {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen {
            generation: 1,
            ..Seen::default()
        }));
        let (streams_tx, streams) = mpsc::unbounded_channel();
        let state = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (seen, streams_tx) = (state.clone(), streams_tx.clone());
                let service = hyper::service::service_fn(move |req| {
                    handle(req, modern, get, seen.clone(), streams_tx.clone())
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service),
                );
            }
        });
        Mock { url, seen, streams }
    }

    /// The writer of the next GET stream the listener opens.
    async fn next_stream(&mut self) -> mpsc::Sender<Bytes> {
        tokio::time::timeout(Duration::from_secs(5), self.streams.recv())
            .await
            .expect("no GET stream opened within 5 s")
            .unwrap()
    }

    fn gets(&self) -> usize {
        self.seen.lock().gets.len()
    }

    /// JSON-RPC responses POSTed back to the mock (answers to its server requests).
    fn answers(&self) -> Vec<Value> {
        let seen = self.seen.lock();
        seen.posts
            .iter()
            .filter(|p| p.get("method").is_none())
            .cloned()
            .collect()
    }
}

async fn handle(
    req: http::Request<Incoming>,
    modern: bool,
    get: GetReply,
    seen: Arc<Mutex<Seen>>,
    streams: mpsc::UnboundedSender<mpsc::Sender<Bytes>>,
) -> Result<Response<Body>, Infallible> {
    let current = format!("s-{}", seen.lock().generation);
    let stale = req
        .headers()
        .get("mcp-session-id")
        .is_some_and(|id| id != current.as_str());
    let json = |status: u16, body: Value| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("mcp-session-id", current.as_str())
            .body(Full::new(Bytes::from(body.to_string())).boxed())
            .unwrap()
    };
    let empty = |status: u16| {
        Response::builder()
            .status(status)
            .body(Full::new(Bytes::new()).boxed())
            .unwrap()
    };
    match *req.method() {
        http::Method::GET => {
            seen.lock().gets.push(req.headers().clone());
            if stale {
                return Ok(empty(404));
            }
            match get {
                GetReply::Status(s) => Ok(empty(s)),
                GetReply::Stream => {
                    let (tx, rx) = mpsc::channel::<Bytes>(16);
                    let _ = streams.send(tx);
                    // Keep-alive comments make a client's disconnect visible (the write
                    // fails, hyper drops this body and the test's writer sees it closed).
                    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
                        let next = match tokio::time::timeout(Duration::from_millis(25), rx.recv())
                            .await
                        {
                            Ok(Some(bytes)) => bytes,
                            Ok(None) => return None,
                            Err(_) => Bytes::from_static(b": keep-alive\n\n"),
                        };
                        Some((Ok::<_, Infallible>(Frame::data(next)), rx))
                    });
                    Ok(Response::builder()
                        .header("content-type", "text/event-stream")
                        .body(BodyExt::boxed(StreamBody::new(frames)))
                        .unwrap())
                }
            }
        }
        http::Method::DELETE => {
            seen.lock().deletes += 1;
            Ok(empty(200))
        }
        _ => {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let msg: Value = serde_json::from_slice(&body).unwrap();
            seen.lock().posts.push(msg.clone());
            if stale {
                return Ok(empty(404));
            }
            let (Some(id), Some(method)) = (msg.get("id"), msg["method"].as_str()) else {
                return Ok(empty(202)); // a notification or an answer
            };
            let result = match method {
                "server/discover" if modern => json!({
                    "supportedVersions": ["2026-07-28"], "capabilities": {},
                }),
                "initialize" => json!({
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "serverInfo": {"name": "mock", "version": "0"},
                }),
                _ => json!({}),
            };
            Ok(json(
                200,
                json!({"jsonrpc": "2.0", "id": id, "result": result}),
            ))
        }
    }
}

fn upstream(
    mock: &Mock,
    era: EraPreference,
) -> (StreamableUpstream, broadcast::Sender<ServerMessage>) {
    let options = Options {
        era,
        connect_timeout: Duration::from_secs(5),
        ..Options::default()
    };
    let (server_tx, _) = broadcast::channel(16);
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_static("k"));
    let up = StreamableUpstream::new(
        InstanceId::parse("mock-1").unwrap(),
        mock.url.parse().unwrap(),
        headers,
        HttpClient::new(Duration::from_secs(5)),
        Arc::new(options.clone()),
        Arc::new(Identity::new(&options)),
        server_tx.clone(),
    );
    (up, server_tx)
}

/// Opens the session (the listener starts with it).
async fn open(up: &StreamableUpstream) {
    let ping = Request::new(RequestId::Number(1), "ping", None);
    let r = up
        .call(ping, None, Duration::from_secs(5), Default::default())
        .await
        .unwrap();
    assert!(r.error_object().is_none());
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn next_message(rx: &mut broadcast::Receiver<ServerMessage>) -> ServerMessage {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("no server message within 5 s")
        .unwrap()
}

fn sse(message: &Value) -> Bytes {
    Bytes::from(format!("data: {message}\n\n"))
}

#[tokio::test]
async fn routes_notifications_and_server_requests() {
    let mut mock = Mock::start(false, GetReply::Stream).await;
    let (up, server_tx) = upstream(&mock, EraPreference::Legacy);
    open(&up).await;
    let stream = mock.next_stream().await;
    {
        let seen = mock.seen.lock();
        let get = &seen.gets[0];
        assert_eq!(get["accept"], "text/event-stream");
        assert_eq!(get["mcp-session-id"], "s-1");
        assert_eq!(get["mcp-protocol-version"], "2025-06-18");
        assert_eq!(get["x-api-key"], "k");
        assert!(get.get("last-event-id").is_none());
    }

    // Nobody subscribes: ping is answered, anything else refused with -32601.
    stream
        .send(sse(
            &json!({"jsonrpc": "2.0", "id": "p1", "method": "ping"}),
        ))
        .await
        .unwrap();
    stream
        .send(sse(
            &json!({"jsonrpc": "2.0", "id": "r1", "method": "roots/list"}),
        ))
        .await
        .unwrap();
    eventually("two answers", || mock.answers().len() == 2).await;
    let answers = mock.answers();
    let by_id = |id: &str| answers.iter().find(|a| a["id"] == id).unwrap().clone();
    assert_eq!(by_id("p1")["result"], json!({}));
    assert_eq!(by_id("r1")["error"]["code"], -32601);

    // With a subscriber: notifications and requests are broadcast.
    let mut rx = server_tx.subscribe();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"});
    stream.send(sse(&note)).await.unwrap();
    match next_message(&mut rx).await {
        ServerMessage::Notification(n) => assert_eq!(n.method, "notifications/tools/list_changed"),
        other => panic!("unexpected {other:?}"),
    }
    // Other event types and responses are ignored; requests reach the subscriber.
    stream
        .send(Bytes::from("event: other\ndata: {}\n\n"))
        .await
        .unwrap();
    stream
        .send(sse(&json!({"jsonrpc": "2.0", "id": 9, "result": {}})))
        .await
        .unwrap();
    stream
        .send(sse(&json!({"jsonrpc": "2.0", "id": "s1", "method": "sampling/createMessage", "params": {}})))
        .await
        .unwrap();
    match next_message(&mut rx).await {
        ServerMessage::Request(r) => assert_eq!(r.method, "sampling/createMessage"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        mock.answers().len(),
        2,
        "the broadcast request is not answered"
    );
    assert_eq!(mock.gets(), 1);
}

#[tokio::test]
async fn reconnects_with_last_event_id_after_retry() {
    let mut mock = Mock::start(false, GetReply::Stream).await;
    let (up, server_tx) = upstream(&mock, EraPreference::Legacy);
    let mut rx = server_tx.subscribe();
    open(&up).await;
    let first = mock.next_stream().await;
    // A priming event with `retry:`, one notification, then the server closes.
    first
        .send(Bytes::from("id: prime\nretry: 50\ndata: \n\n"))
        .await
        .unwrap();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "a"}});
    first
        .send(Bytes::from(format!("id: e1\ndata: {note}\n\n")))
        .await
        .unwrap();
    assert!(matches!(
        next_message(&mut rx).await,
        ServerMessage::Notification(_)
    ));
    let closed_at = tokio::time::Instant::now();
    drop(first);
    let second = mock.next_stream().await;
    let waited = closed_at.elapsed();
    assert!(
        waited < Duration::from_millis(800),
        "retry: 50 should replace the 1 s default, waited {waited:?}"
    );
    assert_eq!(mock.seen.lock().gets[1]["last-event-id"], "e1");
    second.send(sse(&note)).await.unwrap();
    assert!(matches!(
        next_message(&mut rx).await,
        ServerMessage::Notification(_)
    ));

    // Without `retry:` the back-off starts at 1 s; a priming id alone is resumed from.
    let mut mock = Mock::start(false, GetReply::Stream).await;
    let (up, _server_tx) = upstream(&mock, EraPreference::Legacy);
    open(&up).await;
    let first = mock.next_stream().await;
    first.send(Bytes::from("id: p2\ndata: \n\n")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let closed_at = tokio::time::Instant::now();
    drop(first);
    let _second = mock.next_stream().await;
    assert!(closed_at.elapsed() >= Duration::from_millis(900));
    assert_eq!(mock.seen.lock().gets[1]["last-event-id"], "p2");
}

#[tokio::test]
async fn stops_on_405_and_404() {
    for status in [405, 404, 400] {
        let mock = Mock::start(false, GetReply::Status(status)).await;
        let (up, _server_tx) = upstream(&mock, EraPreference::Legacy);
        open(&up).await;
        eventually("the listener to stop", || {
            up.get_stream_finished() == Some(true)
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(mock.gets(), 1, "status {status}: one GET, no retries");
        // Calls are unaffected.
        open(&up).await;
    }
}

#[tokio::test]
async fn retries_transient_failures() {
    let mock = Mock::start(false, GetReply::Status(503)).await;
    let (up, _server_tx) = upstream(&mock, EraPreference::Legacy);
    open(&up).await;
    eventually("a second GET", || mock.gets() == 2).await;
    assert_eq!(up.get_stream_finished(), Some(false));
}

#[tokio::test]
async fn close_and_drop_stop_the_listener() {
    // close(): the stream is dropped before the DELETE, and never reopened.
    let mut mock = Mock::start(false, GetReply::Stream).await;
    let (up, _server_tx) = upstream(&mock, EraPreference::Legacy);
    open(&up).await;
    let stream = mock.next_stream().await;
    up.close().await;
    tokio::time::timeout(Duration::from_secs(5), stream.closed())
        .await
        .expect("the GET stream outlived close()");
    assert_eq!(mock.seen.lock().deletes, 1);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(mock.gets(), 1, "no GET after close()");

    // Dropping the upstream without close() ends the stream too: no strong cycle.
    let mut mock = Mock::start(false, GetReply::Stream).await;
    let (up, server_tx) = upstream(&mock, EraPreference::Legacy);
    open(&up).await;
    let stream = mock.next_stream().await;
    drop(up);
    tokio::time::timeout(Duration::from_secs(5), stream.closed())
        .await
        .expect("the GET stream outlived its upstream");
    // The upstream and its listener task held the only other senders.
    eventually("the listener task to end", || server_tx.strong_count() == 1).await;
}

#[tokio::test]
async fn an_expired_session_takes_its_listener_along() {
    let mut mock = Mock::start(false, GetReply::Stream).await;
    let (up, _server_tx) = upstream(&mock, EraPreference::Legacy);
    open(&up).await;
    let first = mock.next_stream().await;
    // The server forgets s-1 (its stream stays open here): the next call gets 404,
    // re-initializes as s-2, and s-2 gets a listener of its own.
    mock.seen.lock().generation = 2;
    open(&up).await;
    tokio::time::timeout(Duration::from_secs(5), first.closed())
        .await
        .expect("the expired session's GET stream lives on");
    let _second = mock.next_stream().await;
    assert_eq!(mock.seen.lock().gets[1]["mcp-session-id"], "s-2");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(mock.gets(), 2, "the old listener does not reconnect");
    assert_eq!(up.get_stream_finished(), Some(false));
}

#[tokio::test]
async fn modern_sessions_have_no_get_stream() {
    let mock = Mock::start(true, GetReply::Stream).await;
    let (up, _server_tx) = upstream(&mock, EraPreference::Modern);
    open(&up).await;
    assert_eq!(up.get_stream_finished(), None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mock.gets(), 0);
}

#[test]
fn backs_off_from_retry_or_one_second() {
    let s = Duration::from_secs;
    assert_eq!(backoff(None, 0), s(1));
    assert_eq!(backoff(None, 1), s(2));
    assert_eq!(backoff(None, 4), s(16));
    assert_eq!(backoff(None, 5), s(30));
    assert_eq!(backoff(None, 40), s(30));
    assert_eq!(
        backoff(Some(Duration::from_millis(200)), 1),
        Duration::from_millis(400)
    );
    assert_eq!(backoff(Some(s(60)), 3), s(60));
}
