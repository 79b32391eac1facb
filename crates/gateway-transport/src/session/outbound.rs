//! Rewrites an outbound request for one upstream conversation: a gateway-assigned id,
//! a gateway-assigned progress token, and (2026-07-28 upstreams) the `_meta` keys every
//! modern request must carry. Everything else in `params` is left byte-for-byte.

use gateway_core::{
    jsonrpc::{Notification, Request, RequestId, Response, to_raw},
    mcp::{
        Era, MetaView, Method, ParamsView, ProtocolVersion, RawObject,
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
    /// The whole `_meta` object a 2026-07-28 request without one gets (the common case),
    /// pre-encoded so that request is rewritten with one splice.
    modern_meta: String,
}

impl Identity {
    pub(crate) fn new(options: &Options) -> Self {
        let client_info = to_raw(&serde_json::json!({
            "name": options.client_name,
            "version": options.client_version,
        }));
        let capabilities = to_raw(&options.client_capabilities);
        let mut meta = RawObject::default();
        add_modern_meta(&mut meta, &capabilities, &client_info);
        Self {
            modern_meta: meta.to_raw().get().to_owned(),
            client_info,
            capabilities,
        }
    }
}

/// What must be restored on the way back.
#[derive(Debug)]
pub(crate) struct Restore {
    pub(crate) original_id: RequestId,
    pub(crate) original_progress_token: Option<Box<RawValue>>,
}

/// A rewritten request's restore data, and the routed name read on the way.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) restore: Restore,
    /// `params.name` or `params.uri`, whichever `method` routes on, when `params` has it
    /// and the upstream speaks 2026-07-28 (its `Mcp-Name` header); `None` for legacy.
    pub(crate) routed_name: Option<String>,
}

/// Rewrites `request` in place to use `upstream_id` (also as its progress token, when it
/// has one) and, for a modern upstream, to carry the modern `_meta` keys. `params` is
/// parsed once, for the few fields read here.
pub(crate) fn prepare(
    request: &mut Request,
    upstream_id: i64,
    era: Era,
    identity: &Identity,
) -> Prepared {
    let original_id = std::mem::replace(&mut request.id, RequestId::Number(upstream_id));
    // Only 2026-07-28 upstreams get the routed name (as `Mcp-Name`): legacy calls are
    // not classified here at all.
    let routed = match era {
        Era::Modern => Method::parse(&request.method).name_param(),
        Era::Legacy => None,
    };
    let mut token = None;
    let mut has_meta = false;
    let mut routed_name = None;
    // A params that is not an object, or has a mistyped routed field, takes the slow
    // path below (which rebuilds it), never the splice.
    let mut viewed = request.params.is_none();
    if let Some(view) = request
        .params
        .as_deref()
        .and_then(|p| ParamsView::parse(Some(p)).ok())
    {
        viewed = true;
        has_meta = view.meta.is_some();
        token = view
            .meta()
            .ok()
            .and_then(|m: MetaView<'_>| m.progress_token.map(ToOwned::to_owned));
        routed_name = match routed {
            Some("uri") => view.uri,
            Some(_) => view.name,
            None => None,
        }
        .map(std::borrow::Cow::into_owned);
    }
    if viewed && token.is_none() && !has_meta && era == Era::Modern {
        let spliced = request
            .params
            .as_deref()
            .map_or(
                Some(format!("{{\"_meta\":{}}}", identity.modern_meta)),
                |p| with_meta(p.get(), &identity.modern_meta),
            )
            .and_then(|s| RawValue::from_string(s).ok());
        if let Some(params) = spliced {
            request.params = Some(params);
            return Prepared {
                restore: Restore {
                    original_id,
                    original_progress_token: None,
                },
                routed_name,
            };
        }
    }
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
                add_modern_meta(meta, &identity.capabilities, &identity.client_info);
            }
        });
        request.params = Some(params.to_raw());
    }
    Prepared {
        restore: Restore {
            original_id,
            original_progress_token: token,
        },
        routed_name,
    }
}

/// The 2026-07-28 keys; a client's own capabilities and info are kept.
fn add_modern_meta(meta: &mut RawObject, capabilities: &RawValue, client_info: &RawValue) {
    meta.insert_value(META_PROTOCOL_VERSION, ProtocolVersion::V2026_07_28.as_str());
    if !meta.contains_key(META_CLIENT_CAPABILITIES) {
        meta.insert(META_CLIENT_CAPABILITIES, capabilities.to_owned());
    }
    if !meta.contains_key(META_CLIENT_INFO) {
        meta.insert(META_CLIENT_INFO, client_info.to_owned());
    }
}

/// `object` (a JSON object without `_meta`) with `"_meta":meta` appended; `None` when
/// `object` is not an object.
fn with_meta(object: &str, meta: &str) -> Option<String> {
    let head = object.trim_end().strip_suffix('}')?.trim_end();
    let mut out = String::with_capacity(head.len() + meta.len() + 12);
    out.push_str(head);
    if !head.ends_with('{') {
        out.push(',');
    }
    out.push_str("\"_meta\":");
    out.push_str(meta);
    out.push('}');
    Some(out)
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
        let restore = prepare(&mut r, 9, Era::Legacy, &identity).restore;
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
    fn modern_splices_meta_and_keeps_params_bytes() {
        let identity = Identity::new(&Options::default());
        let mut r = request(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo", "arguments":{"a":1.50}} }"#,
        );
        let prepared = prepare(&mut r, 2, Era::Modern, &identity);
        assert_eq!(prepared.routed_name.as_deref(), Some("echo"));
        let params = r.params.unwrap();
        let (head, meta) = params.get().split_once(r#","_meta":"#).unwrap();
        assert_eq!(head, r#"{"name":"echo", "arguments":{"a":1.50}"#);
        // The splice and the general path write the same `_meta`.
        let mut general = request(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{}}}"#,
        );
        prepare(&mut general, 2, Era::Modern, &identity);
        let general: serde_json::Value =
            serde_json::from_str(general.params.unwrap().get()).unwrap();
        let spliced: serde_json::Value =
            serde_json::from_str(meta.strip_suffix('}').unwrap()).unwrap();
        assert_eq!(spliced, general["_meta"]);
        // An empty object and an absent params get the same `_meta` alone.
        for text in [r#""params":{ }"#, r#""params":{}"#, r#""x":0"#] {
            let mut r = request(&format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list",{text}}}"#
            ));
            let prepared = prepare(&mut r, 2, Era::Modern, &identity);
            assert_eq!(prepared.routed_name, None);
            let params: serde_json::Value = serde_json::from_str(r.params.unwrap().get()).unwrap();
            assert_eq!(params.as_object().unwrap().len(), 1, "{text}");
            assert_eq!(params["_meta"], general["_meta"]);
        }
    }

    #[test]
    fn a_mistyped_routed_field_never_gets_a_second_meta() {
        let identity = Identity::new(&Options::default());
        let mut r = request(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5,"_meta":{"k":1}}}"#,
        );
        prepare(&mut r, 2, Era::Modern, &identity);
        let text = r.params.unwrap().get().to_owned();
        assert_eq!(text.matches("_meta").count(), 1, "{text}");
        let params: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(params["_meta"]["k"], 1);
        assert_eq!(params["_meta"][META_PROTOCOL_VERSION], "2026-07-28");
    }

    #[test]
    fn routed_name_follows_the_method() {
        let identity = Identity::new(&Options::default());
        let mut r = request(
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a","name":"n"}}"#,
        );
        let prepared = prepare(&mut r, 2, Era::Modern, &identity);
        assert_eq!(prepared.routed_name.as_deref(), Some("file:///a"));
        let mut r = request(
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}}"#,
        );
        let prepared = prepare(&mut r, 2, Era::Legacy, &identity);
        assert_eq!(
            prepared.routed_name, None,
            "legacy upstreams get no Mcp-Name"
        );
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
