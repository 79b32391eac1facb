//! Where a Streamable HTTP session's server-to-client requests go, from whichever of its
//! streams they arrive on (a call's SSE response, the GET stream): `ping` is answered at
//! once; others go to subscribers. [`PostBack`] posts answers into the session without
//! holding a reference to the upstream.

use gateway_core::jsonrpc::{ErrorObject, Message, Request, Response, code};
use http::{HeaderMap, HeaderValue};
use tokio::sync::broadcast;

use super::{HttpClient, request};
use crate::ServerMessage;

/// Routes a server-to-client request from any of the session's streams: `ping` is
/// answered at once; others go to subscribers, or are refused with -32601 while nobody
/// subscribes. Answers go back on a separate POST (when there is a session to post to),
/// without holding up the stream being read.
pub(super) fn route_server_request(
    request: Request,
    server_tx: &broadcast::Sender<ServerMessage>,
    post_back: Option<PostBack>,
) {
    let reply = if request.method == "ping" {
        Response::result(
            request.id,
            gateway_core::jsonrpc::to_raw(&serde_json::json!({})),
        )
    } else if server_tx.receiver_count() > 0 {
        let _ = server_tx.send(ServerMessage::Request(request));
        return;
    } else {
        let e = ErrorObject::new(
            code::METHOD_NOT_FOUND,
            format!("gateway does not handle {}", request.method),
        );
        Response::error(Some(request.id), &e)
    };
    if let Some(post_back) = post_back {
        tokio::spawn(post_back.send(Message::from(reply).to_vec()));
    }
}

/// What it takes to POST an answer into a session, without a reference to the upstream
/// (so a GET stream listener holding one keeps nothing alive).
#[derive(Clone)]
pub(super) struct PostBack {
    pub(super) client: HttpClient,
    pub(super) url: http::Uri,
    pub(super) headers: HeaderMap,
    pub(super) session_id: Option<HeaderValue>,
    pub(super) version: HeaderValue,
}

impl PostBack {
    pub(super) async fn send(self, bytes: Vec<u8>) {
        let mut request = request::build(
            http::Method::POST,
            &self.url,
            Some(request::JSON_OR_SSE),
            &self.headers,
            bytes,
        );
        request::with_session(&mut request, &self.version, self.session_id.as_ref());
        let _ = self.client.inner.request(request).await;
    }
}

/// `e` and its causes, `: `-separated, for logs.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
