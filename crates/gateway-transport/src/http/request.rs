//! Every request the gateway sends to an HTTP upstream is built here: the content
//! headers, the instance's own headers (its upstream credentials, if any) and the MCP
//! session headers. Built in place: `http`'s builder moves the whole request at every
//! `.header()`, which showed in the relay path's profile (scripts/profile callgrind).

use bytes::Bytes;
use gateway_core::mcp::wire::{HEADER_PROTOCOL_VERSION, HEADER_SESSION_ID};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use http_body_util::Full;

/// What a Streamable HTTP POST accepts.
pub(super) const JSON_OR_SSE: &str = "application/json, text/event-stream";
/// What a GET event stream accepts.
pub(super) const SSE: &str = "text/event-stream";

/// An upstream request.
pub(super) type UpstreamRequest = http::Request<Full<Bytes>>;

/// `method url` with the instance's `headers`, `Accept: accept` when given, and
/// `Content-Type: application/json` when there is a body.
pub(super) fn build(
    method: Method,
    url: &Uri,
    accept: Option<&'static str>,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> UpstreamRequest {
    let has_body = !body.is_empty();
    let mut request = http::Request::new(Full::new(Bytes::from(body)));
    *request.method_mut() = method;
    *request.uri_mut() = url.clone();
    let out = request.headers_mut();
    // Room for the session, version, method and name headers callers add.
    out.reserve(headers.len() + 6);
    if has_body {
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if let Some(accept) = accept {
        out.insert(header::ACCEPT, HeaderValue::from_static(accept));
    }
    for (name, value) in headers {
        out.append(name.clone(), value.clone());
    }
    request
}

/// Adds `MCP-Protocol-Version` and, inside a session, `Mcp-Session-Id`.
pub(super) fn with_session(
    request: &mut UpstreamRequest,
    version: &HeaderValue,
    session_id: Option<&HeaderValue>,
) {
    let headers = request.headers_mut();
    headers.insert(
        HeaderName::from_static(HEADER_PROTOCOL_VERSION),
        version.clone(),
    );
    if let Some(id) = session_id {
        headers.insert(HeaderName::from_static(HEADER_SESSION_ID), id.clone());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn carries_content_instance_and_session_headers() {
        let mut instance = HeaderMap::new();
        instance.insert("authorization", HeaderValue::from_static("Bearer up"));
        instance.append("x-multi", HeaderValue::from_static("a"));
        instance.append("x-multi", HeaderValue::from_static("b"));
        let url: Uri = "http://127.0.0.1:9/mcp".parse().unwrap();
        let mut post = build(
            Method::POST,
            &url,
            Some(JSON_OR_SSE),
            &instance,
            b"{}".to_vec(),
        );
        with_session(
            &mut post,
            &HeaderValue::from_static("2025-11-25"),
            Some(&HeaderValue::from_static("s-1")),
        );
        let h = post.headers();
        assert_eq!(post.method(), Method::POST);
        assert_eq!(post.uri(), &url);
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h["accept"], JSON_OR_SSE);
        assert_eq!(h["authorization"], "Bearer up");
        assert_eq!(h.get_all("x-multi").iter().count(), 2);
        assert_eq!(h[HEADER_PROTOCOL_VERSION], "2025-11-25");
        assert_eq!(h[HEADER_SESSION_ID], "s-1");

        let get = build(Method::GET, &url, Some(SSE), &HeaderMap::new(), Vec::new());
        assert!(
            get.headers().get("content-type").is_none(),
            "no body, no type"
        );
        assert_eq!(get.headers()["accept"], SSE);
        let delete = build(Method::DELETE, &url, None, &HeaderMap::new(), Vec::new());
        assert!(delete.headers().is_empty());
    }
}
