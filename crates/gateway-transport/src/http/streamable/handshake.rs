//! The MCP handshake over plain POSTs ([`Exchange`] for the shared handshake code),
//! capturing the session id and protocol version `initialize` returns.

use super::*;

/// The handshake over plain POSTs, capturing the session id `initialize` returns.
pub(super) struct HandshakeHttp<'a> {
    pub(super) up: &'a StreamableUpstream,
    /// The opening call's own `Authorization`, if any.
    pub(super) authorization: Option<HeaderValue>,
    pub(super) session_id: parking_lot::Mutex<Option<HeaderValue>>,
    pub(super) version: parking_lot::Mutex<Option<HeaderValue>>,
}

impl HandshakeHttp<'_> {
    fn pseudo_session(&self, era: Era) -> HttpSession {
        let version = match era {
            Era::Modern => HeaderValue::from_static(ProtocolVersion::V2026_07_28.as_str()),
            Era::Legacy => self
                .version
                .lock()
                .clone()
                .unwrap_or(HeaderValue::from_static(
                    ProtocolVersion::LATEST_LEGACY.as_str(),
                )),
        };
        HttpSession {
            id: self.session_id.lock().clone(),
            get_stream: None,
            version,
            info: Arc::new(ServerInfo {
                protocol_version: if era == Era::Modern {
                    ProtocolVersion::V2026_07_28
                } else {
                    ProtocolVersion::LATEST_LEGACY
                },
                capabilities: gateway_core::jsonrpc::to_raw(&serde_json::json!({})),
                server_info: None,
                instructions: None,
            }),
        }
    }
}

impl Exchange for HandshakeHttp<'_> {
    async fn request(&self, mut request: Request, era: Era) -> Result<Response, Error> {
        let up = self.up;
        let upstream_id = up.next_id.fetch_add(1, Ordering::Relaxed);
        let restore = outbound::prepare(&mut request, upstream_id, era, &up.identity).restore;
        let method = Method::parse(&request.method);
        let mut post =
            up.base_request(Message::from(request).to_vec(), self.authorization.as_ref());
        if era == Era::Modern {
            let version = HeaderValue::from_static(ProtocolVersion::V2026_07_28.as_str());
            request::with_session(&mut post, &version, None);
            post.headers_mut().insert(
                HeaderName::from_static(HEADER_METHOD),
                up.header_value(method.as_str())?,
            );
        }
        let target = CallStream {
            upstream_id: Some(upstream_id),
            restore: Some(&restore),
            progress: None,
        };
        let reply = match up
            .send_post(post, false, target, Some(&self.session_id))
            .await?
        {
            Posted::Reply(r) => r,
            Posted::Refused(status) => return Err(err(&up.instance, ErrorKind::Status(status))),
            Posted::Accepted | Posted::SessionExpired => {
                return Err(err(
                    &up.instance,
                    ErrorKind::Protocol(Violation::NoHandshakeResponse),
                ));
            }
        };
        if method == Method::Initialize
            && let gateway_core::jsonrpc::Outcome::Result(raw) = &reply.outcome
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(raw.get())
            && let Some(Ok(version)) = v["protocolVersion"].as_str().map(HeaderValue::from_str)
        {
            *self.version.lock() = Some(version);
        }
        Ok(reply)
    }

    async fn notify(&self, notification: Notification) -> Result<(), Error> {
        let session = self.pseudo_session(Era::Legacy);
        let target = CallStream {
            upstream_id: None,
            restore: None,
            progress: None,
        };
        self.up
            .post(
                &session,
                Message::from(notification).to_vec(),
                None,
                target,
                self.authorization.as_ref(),
                None,
            )
            .await
            .map(|_| ())
    }
}
