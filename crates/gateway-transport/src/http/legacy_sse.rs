//! The legacy HTTP+SSE adapter (2024-11-05 transport): GET the event stream, wait for
//! the `endpoint` event, POST every message to the announced URL; responses arrive as
//! `message` events on the stream, matched to calls by the shared [`Mux`].

use std::sync::Arc;

use bytes::Bytes;
use gateway_core::{InstanceId, jsonrpc::Message};
use http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, Full};
use tokio::sync::{mpsc, oneshot};

use super::{HttpClient, sse::SseParser};
use crate::{
    Error,
    error::{ErrorKind, err},
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
        let mut builder =
            http::Request::get(self.url.clone()).header(header::ACCEPT, "text/event-stream");
        for (k, v) in &self.headers {
            builder = builder.header(k, v);
        }
        let request = builder
            .body(Full::new(Bytes::new()))
            .map_err(|e| err(&self.instance, ErrorKind::Protocol(e.to_string())))?;
        let response = self
            .client
            .inner
            .request(request)
            .await
            .map_err(|e| err(&self.instance, ErrorKind::Connect(e.to_string())))?;
        if response.status() != StatusCode::OK {
            return Err(err(
                &self.instance,
                ErrorKind::Connect(format!("GET stream answered {}", response.status())),
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
                    ErrorKind::Connect("stream ended before the endpoint event".into()),
                ));
            };
            let frame =
                frame.map_err(|e| err(&self.instance, ErrorKind::Connect(e.to_string())))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            parser.push(&data, &mut events).map_err(|_| {
                err(
                    &self.instance,
                    ErrorKind::Protocol("oversized SSE event".into()),
                )
            })?;
            for event in events.drain(..) {
                if event.event.as_deref() == Some("endpoint") {
                    break 'found resolve(&self.url, &String::from_utf8_lossy(&event.data))
                        .ok_or_else(|| {
                            err(
                                &self.instance,
                                ErrorKind::Protocol("invalid endpoint URL".into()),
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
        let (closed_tx, closed_rx) = oneshot::channel::<String>();
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
                    None => break "SSE stream ended".to_owned(),
                    Some(Err(e)) => break format!("SSE stream failed: {e}"),
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data()
                            && parser.push(&data, &mut events).is_err()
                        {
                            tracing::warn!(%instance, "oversized SSE event; dropping the stream");
                            break "oversized SSE event".to_owned();
                        }
                    }
                }
            };
            let _ = closed_tx.send(reason);
        });
        let closed: BoxFuture<String> = Box::pin(async move {
            closed_rx
                .await
                .unwrap_or_else(|_| "SSE reader stopped".to_owned())
        });
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

/// Resolves the `endpoint` event's URL (absolute, or relative to the stream URL).
fn resolve(base: &http::Uri, announced: &str) -> Option<http::Uri> {
    let announced = announced.trim();
    if announced.starts_with("http://") || announced.starts_with("https://") {
        return announced.parse().ok();
    }
    let scheme = base.scheme_str()?;
    let authority = base.authority()?;
    let path = if announced.starts_with('/') {
        announced.to_owned()
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/{announced}")
    };
    format!("{scheme}://{authority}{path}").parse().ok()
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
        let mut builder = http::Request::post(self.endpoint.clone())
            .header(header::CONTENT_TYPE, "application/json");
        for (k, v) in &self.headers {
            builder = builder.header(k, v);
        }
        let failure = match builder.body(Full::new(Bytes::from(bytes.clone()))) {
            Err(e) => Some(e.to_string()),
            Ok(req) => match self.client.inner.request(req).await {
                Ok(resp) if resp.status().is_success() => None,
                Ok(resp) => Some(format!("POST answered {}", resp.status())),
                Err(e) => Some(e.to_string()),
            },
        };
        if let Some(reason) = failure {
            tracing::warn!(instance = %self.instance, %reason, "posting to the legacy SSE endpoint failed");
            if let Ok(Message::Request(r)) = Message::parse(&bytes)
                && let gateway_core::jsonrpc::RequestId::Number(id) = r.id
            {
                self.mux
                    .fail_one(id, err(&self.instance, ErrorKind::Io(reason)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_endpoint_urls() {
        let base: http::Uri = "http://127.0.0.1:3003/sse".parse().unwrap();
        assert_eq!(
            resolve(&base, "/message?sessionId=1").unwrap(),
            "http://127.0.0.1:3003/message?sessionId=1"
        );
        assert_eq!(
            resolve(&base, "message?x=1").unwrap(),
            "http://127.0.0.1:3003/message?x=1"
        );
        assert_eq!(
            resolve(&base, "http://other:1/m").unwrap(),
            "http://other:1/m"
        );
    }
}
