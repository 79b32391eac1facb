//! The MCP opening: `server/discover` for 2026-07-28 upstreams, `initialize` +
//! `notifications/initialized` for session-based ones, chosen per [`EraPreference`].

use std::future::Future;

use gateway_core::{
    InstanceId,
    jsonrpc::{Notification, Outcome, Request, RequestId, Response, to_raw},
    mcp::{Era, ProtocolVersion, wire::META_SERVER_INFO},
};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::outbound::Identity;
use crate::{
    EraPreference, Error, ServerInfo,
    error::{ErrorKind, HandshakeFailure, err},
};

/// One request/notification exchange with an upstream, before and after the handshake.
pub(crate) trait Exchange: Sync {
    /// Sends `request` (rewritten for `era`) and awaits its response.
    fn request(
        &self,
        request: Request,
        era: Era,
    ) -> impl Future<Output = Result<Response, Error>> + Send;
    /// Sends a notification.
    fn notify(&self, notification: Notification) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Opens the conversation and reports what the upstream is.
pub(crate) async fn handshake(
    x: &impl Exchange,
    preference: EraPreference,
    identity: &Identity,
    instance: &InstanceId,
) -> Result<ServerInfo, Error> {
    if preference != EraPreference::Legacy {
        match discover(x, instance).await {
            Ok(Some(info)) => return Ok(info),
            Ok(None) if preference == EraPreference::Auto => {}
            Ok(None) => {
                return Err(err(
                    instance,
                    ErrorKind::Handshake(HandshakeFailure::NoModernSupport),
                ));
            }
            Err(e)
                if preference == EraPreference::Auto
                    && e.http_status().is_some_and(|s| (400..500).contains(&s)) => {}
            Err(e) => return Err(e),
        }
    }
    initialize(x, identity, instance).await
}

/// `Ok(None)`: the upstream answered, but not as a 2026-07-28 server.
async fn discover(x: &impl Exchange, instance: &InstanceId) -> Result<Option<ServerInfo>, Error> {
    #[derive(Deserialize)]
    struct Discover {
        #[serde(default, rename = "supportedVersions")]
        supported: Vec<String>,
        #[serde(default)]
        capabilities: Option<Box<RawValue>>,
        #[serde(default, rename = "serverInfo")]
        server_info: Option<Box<RawValue>>,
        #[serde(default)]
        instructions: Option<String>,
        #[serde(default, rename = "_meta")]
        meta: Option<serde_json::Map<String, serde_json::Value>>,
    }
    let request = Request::new(RequestId::Number(0), "server/discover", None);
    let response = x.request(request, Era::Modern).await?;
    let Outcome::Result(result) = response.outcome else {
        return Ok(None);
    };
    let Ok(d) = serde_json::from_str::<Discover>(result.get()) else {
        return Ok(None);
    };
    if !d
        .supported
        .iter()
        .any(|v| v == ProtocolVersion::V2026_07_28.as_str())
    {
        return Ok(None);
    }
    let server_info = d.server_info.or_else(|| {
        d.meta
            .as_ref()
            .and_then(|m| m.get(META_SERVER_INFO))
            .map(to_raw)
    });
    tracing::debug!(%instance, "upstream speaks 2026-07-28");
    Ok(Some(ServerInfo {
        protocol_version: ProtocolVersion::V2026_07_28,
        capabilities: d
            .capabilities
            .unwrap_or_else(|| to_raw(&serde_json::json!({}))),
        server_info,
        instructions: d.instructions,
    }))
}

async fn initialize(
    x: &impl Exchange,
    identity: &Identity,
    instance: &InstanceId,
) -> Result<ServerInfo, Error> {
    #[derive(Deserialize)]
    struct Initialized {
        #[serde(rename = "protocolVersion")]
        protocol_version: String,
        #[serde(default)]
        capabilities: Option<Box<RawValue>>,
        #[serde(default, rename = "serverInfo")]
        server_info: Option<Box<RawValue>>,
        #[serde(default)]
        instructions: Option<String>,
    }
    let params = format!(
        r#"{{"protocolVersion":"{}","capabilities":{},"clientInfo":{}}}"#,
        ProtocolVersion::LATEST_LEGACY,
        identity.capabilities.get(),
        identity.client_info.get()
    );
    let request = Request::new(
        RequestId::Number(0),
        "initialize",
        RawValue::from_string(params).ok(),
    );
    let response = x.request(request, Era::Legacy).await?;
    let failed = |why| err(instance, ErrorKind::Handshake(why));
    let result = match response.outcome {
        Outcome::Result(r) => r,
        Outcome::Error(e) => {
            let text = truncate(e.get()).to_owned();
            return Err(failed(HandshakeFailure::Refused(text)));
        }
    };
    let init: Initialized = serde_json::from_str(result.get())
        .map_err(|e| failed(HandshakeFailure::InvalidResult(e)))?;
    let version = ProtocolVersion::parse(&init.protocol_version)
        .filter(|v| v.era() == Era::Legacy)
        .ok_or_else(|| {
            let version = truncate(&init.protocol_version).to_owned();
            failed(HandshakeFailure::UnsupportedVersion(version))
        })?;
    x.notify(Notification {
        method: "notifications/initialized".into(),
        params: None,
    })
    .await?;
    tracing::debug!(%instance, %version, "upstream initialized");
    Ok(ServerInfo {
        protocol_version: version,
        capabilities: init
            .capabilities
            .unwrap_or_else(|| to_raw(&serde_json::json!({}))),
        server_info: init.server_info,
        instructions: init.instructions,
    })
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(200) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
