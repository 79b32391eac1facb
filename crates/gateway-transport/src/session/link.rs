//! [`MessageLink`]: a duplex message channel (stdio child, legacy SSE session) with its
//! pending-call table; the unit a supervisor keeps alive.

use std::{sync::Arc, time::Duration};

use gateway_core::{
    InstanceId,
    jsonrpc::{Message, Notification, Request, Response},
    mcp::Era,
};
use tokio::sync::mpsc;

use super::{handshake::Exchange, mux::Mux, outbound::Identity};
use crate::{
    Error,
    error::{ErrorKind, err},
};

/// One live link: outbound messages go to `writer`; inbound ones are fed to `mux` by
/// the link's reader task.
pub(crate) struct MessageLink {
    pub(crate) instance: InstanceId,
    pub(crate) mux: Arc<Mux>,
    pub(crate) writer: mpsc::Sender<Vec<u8>>,
    pub(crate) identity: Arc<Identity>,
    pub(crate) max_message_size: usize,
}

impl MessageLink {
    /// Sends `request` and awaits its response.
    pub(crate) async fn request(
        &self,
        request: Request,
        era: Era,
        progress: Option<mpsc::Sender<Notification>>,
        timeout: Duration,
    ) -> Result<Response, Error> {
        let (bytes, pending) =
            self.mux
                .begin(request, era, &self.identity, progress, self.writer.clone());
        self.check_size(bytes.len())?;
        self.writer
            .send(bytes)
            .await
            .map_err(|_| err(&self.instance, ErrorKind::NotReady))?;
        pending.wait(timeout).await
    }

    /// Sends an already encoded message (notification or response).
    pub(crate) async fn send(&self, bytes: Vec<u8>) -> Result<(), Error> {
        self.check_size(bytes.len())?;
        self.writer
            .send(bytes)
            .await
            .map_err(|_| err(&self.instance, ErrorKind::NotReady))
    }

    fn check_size(&self, size: usize) -> Result<(), Error> {
        if size > self.max_message_size {
            return Err(err(
                &self.instance,
                ErrorKind::TooLarge {
                    size,
                    limit: self.max_message_size,
                },
            ));
        }
        Ok(())
    }
}

/// The handshake runs over a link with the connect timeout.
pub(crate) struct HandshakeExchange<'a> {
    pub(crate) link: &'a MessageLink,
    pub(crate) timeout: Duration,
}

impl Exchange for HandshakeExchange<'_> {
    async fn request(&self, request: Request, era: Era) -> Result<Response, Error> {
        self.link.request(request, era, None, self.timeout).await
    }

    async fn notify(&self, notification: Notification) -> Result<(), Error> {
        self.link.send(Message::from(notification).to_vec()).await
    }
}
