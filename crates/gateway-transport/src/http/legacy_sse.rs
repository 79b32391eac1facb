//! The legacy HTTP+SSE adapter (2024-11-05 transport): GET the event stream, wait for
//! the `endpoint` event, POST every message to the announced URL; responses arrive as
//! `message` events on the stream, matched to calls by the shared [`Mux`].

use std::sync::Arc;

use gateway_core::{InstanceId, jsonrpc::Message};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::{mpsc, oneshot};

use super::{HttpClient, request, sse::SseParser};
use crate::{
    Error,
    error::{EndpointError, ErrorKind, LinkClosed, StreamRefusal, Violation, err},
    session::{
        mux::Mux,
        supervisor::{BoxFuture, Dial, Dialed},
    },
};

pub(crate) struct SseDialer {
    pub(crate) instance: InstanceId,
    pub(crate) url: http::Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) client: HttpClient,
    pub(crate) max_message_size: usize,
}

impl Dial for SseDialer {
    async fn dial(&self, mux: Arc<Mux>) -> Result<Dialed, Error> {
        let request = request::build(
            http::Method::GET,
            &self.url,
            Some(request::SSE),
            &self.headers,
            Vec::new(),
        );
        let response = self
            .client
            .inner
            .request(request)
            .await
            .map_err(|e| err(&self.instance, ErrorKind::Connect(Box::new(e))))?;
        if response.status() != StatusCode::OK {
            return Err(err(
                &self.instance,
                ErrorKind::Stream(StreamRefusal::Status(response.status())),
            ));
        }
        let mut body = response.into_body();
        let mut parser = SseParser::new(self.max_message_size);
        let mut events = Vec::new();
        // The first event names the URL to POST to.
        let endpoint = 'found: loop {
            let Some(frame) = body.frame().await else {
                return Err(err(
                    &self.instance,
                    ErrorKind::Stream(StreamRefusal::NoEndpoint),
                ));
            };
            let frame = frame.map_err(|e| err(&self.instance, ErrorKind::Connect(Box::new(e))))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            parser.push(&data, &mut events).map_err(|_| {
                err(
                    &self.instance,
                    ErrorKind::Protocol(Violation::OversizedEvent),
                )
            })?;
            for event in events.drain(..) {
                if event.event.as_deref() == Some("endpoint") {
                    break 'found resolve(&self.url, &String::from_utf8_lossy(&event.data))
                        .map_err(|e| {
                            err(
                                &self.instance,
                                ErrorKind::Stream(StreamRefusal::Endpoint(e)),
                            )
                        })?;
                }
            }
        };

        let (writer, queue) = mpsc::channel::<Vec<u8>>(1024);
        let poster = Poster {
            instance: self.instance.clone(),
            endpoint,
            headers: self.headers.clone(),
            client: self.client.clone(),
            mux: mux.clone(),
        };
        let write_task = tokio::spawn(poster.run(queue));
        let (closed_tx, closed_rx) = oneshot::channel::<LinkClosed>();
        let instance = self.instance.clone();
        let reply_writer = writer.clone();
        let read_task = tokio::spawn(async move {
            let reason = loop {
                for event in events.drain(..) {
                    if event.event.as_deref().is_none_or(|e| e == "message")
                        && !event.data.is_empty()
                        && let Some(reply) = mux.dispatch(&event.data)
                    {
                        let _ = reply_writer.send(reply).await;
                    }
                }
                match body.frame().await {
                    None => break LinkClosed::StreamEnded,
                    Some(Err(e)) => break LinkClosed::StreamFailed(Arc::new(e)),
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data()
                            && parser.push(&data, &mut events).is_err()
                        {
                            tracing::warn!(%instance, "oversized SSE event; dropping the stream");
                            break LinkClosed::Oversized;
                        }
                    }
                }
            };
            let _ = closed_tx.send(reason);
        });
        let closed: BoxFuture<LinkClosed> =
            Box::pin(async move { closed_rx.await.unwrap_or(LinkClosed::ReaderStopped) });
        let shutdown = Box::new(move || -> BoxFuture<()> {
            Box::pin(async move {
                read_task.abort();
                write_task.abort();
            })
        });
        Ok(Dialed {
            writer,
            closed,
            shutdown,
            pid: None,
        })
    }
}

/// Resolves the `endpoint` event's URL (absolute, or relative to the stream URL) and
/// checks that it is on the stream's origin (scheme, host and port).
fn resolve(base: &http::Uri, announced: &str) -> Result<http::Uri, EndpointError> {
    let announced = announced.trim();
    let invalid = || EndpointError::Invalid(announced.to_owned());
    let scheme = base.scheme_str().ok_or_else(invalid)?;
    let authority = base.authority().ok_or_else(invalid)?;
    let text = if has_scheme(announced) {
        announced.to_owned()
    } else if announced.starts_with("//") {
        // Network-path reference: another host, same scheme.
        format!("{scheme}:{announced}")
    } else if announced.starts_with('/') {
        format!("{scheme}://{authority}{announced}")
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
        format!("{scheme}://{authority}{dir}/{announced}")
    };
    let resolved: http::Uri = text.parse().map_err(|_| invalid())?;
    let (Some(wanted), Some(got)) = (origin(base), origin(&resolved)) else {
        return Err(invalid());
    };
    if wanted != got {
        return Err(EndpointError::CrossOrigin {
            announced: got.to_string(),
            stream: wanted.to_string(),
        });
    }
    Ok(resolved)
}

/// Whether `url` starts with a scheme (`http:`, `HTTPS:`, `ftp:` ...), per RFC 3986.
fn has_scheme(url: &str) -> bool {
    url.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// A URL's origin: lower-case scheme and host, and the port (the scheme's default when
/// none is written).
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

fn origin(uri: &http::Uri) -> Option<Origin> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    Some(Origin {
        host: uri.host()?.to_ascii_lowercase(),
        port: uri.port_u16().or(default_port),
        scheme,
    })
}

struct Poster {
    instance: InstanceId,
    endpoint: http::Uri,
    headers: HeaderMap,
    client: HttpClient,
    mux: Arc<Mux>,
}

impl Poster {
    async fn run(self, mut queue: mpsc::Receiver<Vec<u8>>) {
        let this = Arc::new(self);
        while let Some(bytes) = queue.recv().await {
            // POSTs run concurrently; JSON-RPC needs no ordering between requests.
            tokio::spawn(this.clone().post(bytes));
        }
    }

    async fn post(self: Arc<Self>, bytes: Vec<u8>) {
        let request = request::build(
            http::Method::POST,
            &self.endpoint,
            None,
            &self.headers,
            bytes.clone(),
        );
        let failure = match self.client.inner.request(request).await {
            Ok(resp) if resp.status().is_success() => None,
            Ok(resp) => Some(ErrorKind::PostRefused(resp.status().as_u16())),
            Err(e) => Some(ErrorKind::Io(Box::new(e))),
        };
        if let Some(kind) = failure {
            let error = err(&self.instance, kind);
            tracing::warn!(instance = %self.instance, error = %error.report(), "posting to the legacy SSE endpoint failed");
            if let Ok(Message::Request(r)) = Message::parse(&bytes)
                && let gateway_core::jsonrpc::RequestId::Number(id) = r.id
            {
                self.mux.fail_one(id, error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_endpoint_urls_on_the_stream_origin() {
        let base: http::Uri = "http://127.0.0.1:3003/sse".parse().unwrap();
        assert_eq!(
            resolve(&base, "/message?sessionId=1").unwrap(),
            "http://127.0.0.1:3003/message?sessionId=1"
        );
        assert_eq!(
            resolve(&base, "message?x=1").unwrap(),
            "http://127.0.0.1:3003/message?x=1"
        );
        let nested: http::Uri = "https://mcp.example/v1/sse".parse().unwrap();
        assert_eq!(
            resolve(&nested, "messages").unwrap(),
            "https://mcp.example/v1/messages"
        );
        // Absolute URLs on the same origin, however spelled (case, default port).
        assert_eq!(
            resolve(&base, " http://127.0.0.1:3003/m ").unwrap(),
            "http://127.0.0.1:3003/m"
        );
        assert_eq!(
            resolve(&nested, "HTTPS://MCP.example:443/v1/m?s=1").unwrap(),
            "https://mcp.example:443/v1/m?s=1"
        );
    }

    #[test]
    fn refuses_endpoints_on_another_origin() {
        let base: http::Uri = "http://127.0.0.1:3003/sse".parse().unwrap();
        for (announced, origin) in [
            ("http://other:1/m", "http://other:1"),
            ("http://evil.example/m", "http://evil.example:80"),
            ("http://127.0.0.1:3004/m", "http://127.0.0.1:3004"),
            ("https://127.0.0.1:3003/m", "https://127.0.0.1:3003"),
            ("//evil.example/m", "http://evil.example:80"),
            (
                "http://127.0.0.1:3003@evil.example/m",
                "http://evil.example:80",
            ),
        ] {
            let e = resolve(&base, announced).unwrap_err();
            assert_eq!(
                e,
                EndpointError::CrossOrigin {
                    announced: origin.to_owned(),
                    stream: "http://127.0.0.1:3003".to_owned(),
                },
                "{announced}"
            );
            assert!(
                e.to_string().contains("different origin"),
                "a clear message: {e}"
            );
        }
        assert!(matches!(
            resolve(&base, "ftp://127.0.0.1:3003/m"),
            Err(EndpointError::CrossOrigin { .. })
        ));
        assert!(matches!(
            resolve(&base, "http://"),
            Err(EndpointError::Invalid(_))
        ));
    }
}
