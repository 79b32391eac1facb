//! Rewrites an outbound request for one upstream conversation: a gateway-assigned id,
//! a gateway-assigned progress token, and (2026-07-28 upstreams) the `_meta` keys every
//! modern request must carry. Everything else in `params` is left byte-for-byte.

use gateway_core::{
    jsonrpc::{Notification, Request, RequestId, Response, to_raw},
    mcp::{
        Era, MetaView, ParamsView, ProtocolVersion, RawObject,
        wire::{
            META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROGRESS_TOKEN, META_PROTOCOL_VERSION,
        },
    },
};
use serde_json::value::RawValue;

use crate::Options;

/// Who the gateway says it is, encoded once.
#[derive(Debug)]
pub(crate) struct Identity {
    pub(crate) client_info: Box<RawValue>,
    pub(crate) capabilities: Box<RawValue>,
}

impl Identity {
    pub(crate) fn new(options: &Options) -> Self {
        Self {
            client_info: to_raw(&serde_json::json!({
                "name": options.client_name,
                "version": options.client_version,
            })),
            capabilities: to_raw(&options.client_capabilities),
        }
    }
}

/// What must be restored on the way back.
#[derive(Debug)]
pub(crate) struct Restore {
    pub(crate) original_id: RequestId,
    pub(crate) original_progress_token: Option<Box<RawValue>>,
}

/// Rewrites `request` in place to use `upstream_id` (also as its progress token, when it
/// has one) and, for a modern upstream, to carry the modern `_meta` keys.
pub(crate) fn prepare(
    request: &mut Request,
    upstream_id: i64,
    era: Era,
    identity: &Identity,
) -> Restore {
    let original_id = std::mem::replace(&mut request.id, RequestId::Number(upstream_id));
    let token = request
        .params
        .as_deref()
        .and_then(|p| ParamsView::parse(Some(p)).ok())
        .and_then(|v| {
            v.meta()
                .ok()
                .and_then(|m: MetaView<'_>| m.progress_token.map(ToOwned::to_owned))
        });
    if token.is_some() || era == Era::Modern {
        let mut params = request
            .params
            .as_deref()
            .and_then(|p| RawObject::parse(p).ok())
            .unwrap_or_default();
        params.edit_object("_meta", |meta| {
            if token.is_some() {
                meta.insert_value(META_PROGRESS_TOKEN, &upstream_id);
            }
            if era == Era::Modern {
                meta.insert_value(META_PROTOCOL_VERSION, ProtocolVersion::V2026_07_28.as_str());
                if !meta.contains_key(META_CLIENT_CAPABILITIES) {
                    meta.insert(META_CLIENT_CAPABILITIES, identity.capabilities.clone());
                }
                if !meta.contains_key(META_CLIENT_INFO) {
                    meta.insert(META_CLIENT_INFO, identity.client_info.clone());
                }
            }
        });
        request.params = Some(params.to_raw());
    }
    Restore {
        original_id,
        original_progress_token: token,
    }
}

/// Gives a response the caller's id back.
pub(crate) fn restore_response(mut response: Response, restore: &Restore) -> Response {
    response.id = Some(restore.original_id.clone());
    response
}

/// The upstream id a progress notification refers to (we use the request id as token).
pub(crate) fn progress_target(notification: &Notification) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Progress<'a> {
        #[serde(borrow, rename = "progressToken")]
        token: &'a RawValue,
    }
    let params = notification.params.as_deref()?;
    let p: Progress<'_> = serde_json::from_str(params.get()).ok()?;
    p.token.get().parse().ok()
}

/// Puts the caller's progress token back into a progress notification.
pub(crate) fn restore_progress(
    mut notification: Notification,
    original: &RawValue,
) -> Notification {
    if let Some(mut params) = notification
        .params
        .as_deref()
        .and_then(|p| RawObject::parse(p).ok())
    {
        params.insert(META_PROGRESS_TOKEN, original.to_owned());
        notification.params = Some(params.to_raw());
    }
    notification
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway_core::jsonrpc::Message;

    fn request(s: &str) -> Request {
        match Message::parse(s.as_bytes()).unwrap() {
            Message::Request(r) => r,
            _ => panic!("not a request"),
        }
    }

    #[test]
    fn legacy_rewrites_id_and_token_only() {
        let identity = Identity::new(&Options::default());
        let mut r = request(
            r#"{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"x","_meta":{"progressToken":"tok"},"arguments":{"a":1.50}}}"#,
        );
        let restore = prepare(&mut r, 9, Era::Legacy, &identity);
        assert_eq!(
            String::from_utf8(Message::from(r).to_vec()).unwrap(),
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":9},"arguments":{"a":1.50}}}"#
        );
        assert_eq!(restore.original_id, RequestId::from("c"));
        assert_eq!(restore.original_progress_token.unwrap().get(), r#""tok""#);
    }

    #[test]
    fn legacy_without_token_keeps_params_verbatim() {
        let identity = Identity::new(&Options::default());
        let mut r = request(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{ "cursor" : "x" }}"#,
        );
        prepare(&mut r, 2, Era::Legacy, &identity);
        assert_eq!(r.params.unwrap().get(), r#"{ "cursor" : "x" }"#);
    }

    #[test]
    fn modern_injects_meta() {
        let identity = Identity::new(&Options::default());
        let mut r = request(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
        prepare(&mut r, 2, Era::Modern, &identity);
        let params: serde_json::Value = serde_json::from_str(r.params.unwrap().get()).unwrap();
        assert_eq!(params["_meta"][META_PROTOCOL_VERSION], "2026-07-28");
        assert_eq!(params["_meta"][META_CLIENT_INFO]["name"], "mcp-gateway");
        assert!(params["_meta"][META_CLIENT_CAPABILITIES].is_object());
    }

    #[test]
    fn progress_round_trip() {
        let n = Notification {
            method: "notifications/progress".into(),
            params: Some(to_raw(
                &serde_json::json!({"progressToken": 9, "progress": 1}),
            )),
        };
        assert_eq!(progress_target(&n), Some(9));
        let back = restore_progress(n, &to_raw("tok"));
        let params: serde_json::Value = serde_json::from_str(back.params.unwrap().get()).unwrap();
        assert_eq!(
            params,
            serde_json::json!({"progressToken": "tok", "progress": 1})
        );
    }
}
