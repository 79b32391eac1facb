//! Reading what an upstream answered a POST: a JSON body or an SSE stream whose
//! progress notifications and server requests are routed while the final response is
//! awaited, every piece bounded by the message size limit.

use super::*;

impl StreamableUpstream {
    pub(super) async fn read_body(
        &self,
        mut body: hyper::body::Incoming,
        full: bool,
    ) -> Result<Vec<u8>, Error> {
        // Error bodies are only peeked at: 64 KiB is plenty for a JSON-RPC error.
        let limit = if full {
            self.options.max_message_size
        } else {
            64 * 1024
        };
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| err(&self.instance, ErrorKind::Io(Box::new(e))))?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > limit {
                    if !full {
                        break;
                    }
                    return Err(err(
                        &self.instance,
                        ErrorKind::TooLarge {
                            size: out.len() + data.len(),
                            limit,
                        },
                    ));
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(out)
    }

    pub(super) async fn read_sse(
        &self,
        mut body: hyper::body::Incoming,
        target: CallStream<'_>,
    ) -> Result<Posted, Error> {
        let mut parser = SseParser::new(self.options.max_message_size);
        let mut events = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                err(
                    &self.instance,
                    ErrorKind::Closed(LinkClosed::Body(Arc::new(e))),
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            parser.push(&data, &mut events).map_err(|too_large| {
                err(
                    &self.instance,
                    ErrorKind::TooLarge {
                        size: too_large.0,
                        limit: self.options.max_message_size,
                    },
                )
            })?;
            for event in events.drain(..) {
                if let Some(response) = self.on_event(event, &target) {
                    return Ok(Posted::Reply(response));
                }
            }
        }
        if target.restore.is_none() {
            return Ok(Posted::Accepted);
        }
        Err(err(
            &self.instance,
            ErrorKind::Closed(LinkClosed::NoResponse),
        ))
    }

    /// Routes one SSE event; returns the call's final response when this is it.
    fn on_event(&self, event: Event, target: &CallStream<'_>) -> Option<Response> {
        if event.data.is_empty() || event.event.as_deref().is_some_and(|e| e != "message") {
            return None;
        }
        match Message::parse(&event.data) {
            Ok(Message::Response(r))
                if target.upstream_id.is_some_and(|id| {
                    r.id == Some(gateway_core::jsonrpc::RequestId::Number(id))
                }) =>
            {
                Some(r)
            }
            Ok(Message::Response(_)) => None,
            Ok(Message::Notification(n)) => {
                let is_ours = target.upstream_id.is_some()
                    && outbound::progress_target(&n) == target.upstream_id;
                match (
                    is_ours,
                    target.progress,
                    target
                        .restore
                        .and_then(|r| r.original_progress_token.as_ref()),
                ) {
                    (true, Some(sink), Some(token)) => {
                        let _ = sink.try_send(outbound::restore_progress(n, token));
                    }
                    (true, ..) => {}
                    (false, ..) => {
                        let _ = self.server_tx.send(ServerMessage::Notification(n));
                    }
                }
                None
            }
            Ok(Message::Request(r)) => {
                let session = self.session.read().clone();
                let post_back = session.map(|s| PostBack {
                    client: self.client.clone(),
                    url: self.url.clone(),
                    headers: self.headers.clone(),
                    session_id: s.id.clone(),
                    version: s.version.clone(),
                });
                route_server_request(r, &self.server_tx, post_back);
                None
            }
            Err(e) => {
                tracing::warn!(instance = %self.instance, error = %e, "upstream sent an invalid SSE message");
                None
            }
        }
    }

    pub(super) fn check_size(&self, size: usize) -> Result<(), Error> {
        if size > self.options.max_message_size {
            return Err(err(
                &self.instance,
                ErrorKind::TooLarge {
                    size,
                    limit: self.options.max_message_size,
                },
            ));
        }
        Ok(())
    }
}
