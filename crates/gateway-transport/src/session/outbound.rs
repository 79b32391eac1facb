//! Rewrites an outbound request for one upstream conversation: a gateway-assigned id,
//! a gateway-assigned progress token, and (2026-07-28 upstreams) the `_meta` keys every
//! modern request must carry. Everything else in `params` is left byte-for-byte.

use gateway_core::{
    jsonrpc::{Notification, Request, RequestId, Response, encode_request, to_raw},
    mcp::{
        Era, Method, ParamsView, ProtocolVersion, RawObject,
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
    let rewrite = rewrite(
        &request.method,
        request.params.as_deref(),
        upstream_id,
        era,
        identity,
    );
    match rewrite.params {
        Params::Same => {}
        Params::Spliced(text) => match RawValue::from_string(text) {
            Ok(params) => request.params = Some(params),
            // Not reached: a spliced object is valid JSON. Rebuilt, to be sure.
            Err(_) => {
                request.params = Some(rebuilt(
                    request.params.as_deref(),
                    None,
                    upstream_id,
                    era,
                    identity,
                ))
            }
        },
        Params::Rebuilt(params) => request.params = Some(params),
    }
    Prepared {
        restore: Restore {
            original_id,
            original_progress_token: rewrite.token,
        },
        routed_name: rewrite.routed_name,
    }
}

/// A request encoded for one upstream conversation, straight from the caller's borrowed
/// parts (no copy of the request or its params), with what [`prepare`] would return.
pub(crate) struct Encoded {
    pub(crate) bytes: Vec<u8>,
    pub(crate) prepared: Prepared,
}

/// [`prepare`] and encode in one step, without copying the request: the params are
/// written verbatim, spliced, or rebuilt (a progress token to replace).
pub(crate) fn encode(
    id: &RequestId,
    method: &str,
    params: Option<&RawValue>,
    upstream_id: i64,
    era: Era,
    identity: &Identity,
) -> Encoded {
    let rewrite = rewrite(method, params, upstream_id, era, identity);
    let upstream = RequestId::Number(upstream_id);
    let bytes = match &rewrite.params {
        Params::Same => encode_request(&upstream, method, params.map(RawValue::get)),
        Params::Spliced(text) => encode_request(&upstream, method, Some(text)),
        Params::Rebuilt(raw) => encode_request(&upstream, method, Some(raw.get())),
    };
    Encoded {
        bytes,
        prepared: Prepared {
            restore: Restore {
                original_id: id.clone(),
                original_progress_token: rewrite.token,
            },
            routed_name: rewrite.routed_name,
        },
    }
}

/// What the upstream gets as params.
enum Params {
    /// The caller's, byte for byte.
    Same,
    /// The caller's object with the modern `_meta` appended (valid JSON text).
    Spliced(String),
    /// Rebuilt with an edited `_meta`.
    Rebuilt(Box<RawValue>),
}

/// The decision [`prepare`] and [`encode`] share.
struct Rewrite {
    params: Params,
    token: Option<Box<RawValue>>,
    routed_name: Option<String>,
}

fn rewrite(
    method: &str,
    params: Option<&RawValue>,
    upstream_id: i64,
    era: Era,
    identity: &Identity,
) -> Rewrite {
    // Only 2026-07-28 upstreams get the routed name (as `Mcp-Name`): legacy calls are
    // not classified here at all.
    let routed = match era {
        Era::Modern => Method::parse(method).name_param(),
        Era::Legacy => None,
    };
    let mut token = None;
    let mut has_meta = false;
    // A modern client's `_meta` that already says all the gateway would add.
    let mut meta_complete = false;
    let mut routed_name = None;
    // A params that is not an object, or has a mistyped routed field, takes the slow
    // path below (which rebuilds it), never the splice.
    let mut viewed = params.is_none();
    if let Some(view) = params.and_then(|p| ParamsView::parse(Some(p)).ok()) {
        viewed = true;
        has_meta = view.meta.is_some();
        if let Ok(meta) = view.meta() {
            token = meta.progress_token.map(ToOwned::to_owned);
            meta_complete = meta.protocol_version.as_deref()
                == Some(ProtocolVersion::V2026_07_28.as_str())
                && meta.client_capabilities.is_some()
                && meta.client_info.is_some();
        }
        routed_name = match routed {
            Some("uri") => view.uri,
            Some(_) => view.name,
            None => None,
        }
        .map(std::borrow::Cow::into_owned);
    }
    let params_out = if viewed && token.is_none() && era == Era::Modern && !has_meta {
        match params {
            None => Params::Spliced(format!("{{\"_meta\":{}}}", identity.modern_meta)),
            Some(p) => match with_meta(p.get(), &identity.modern_meta) {
                Some(spliced) => Params::Spliced(spliced),
                None => Params::Rebuilt(rebuilt(Some(p), None, upstream_id, era, identity)),
            },
        }
    } else if viewed && token.is_none() && era == Era::Modern && meta_complete {
        // Nothing to add or replace: the client's bytes go as they came.
        Params::Same
    } else if token.is_some() || era == Era::Modern {
        Params::Rebuilt(rebuilt(
            params,
            token.as_deref(),
            upstream_id,
            era,
            identity,
        ))
    } else {
        Params::Same
    };
    Rewrite {
        params: params_out,
        token,
        routed_name,
    }
}

/// `params` as an object with its `_meta` edited: the progress token replaced by
/// `upstream_id` (when `token` is set), the modern keys added (2026-07-28).
fn rebuilt(
    params: Option<&RawValue>,
    token: Option<&RawValue>,
    upstream_id: i64,
    era: Era,
    identity: &Identity,
) -> Box<RawValue> {
    let mut params = params
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
    params.to_raw()
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
    fn encode_writes_what_prepare_makes() {
        let identity = Identity::new(&Options::default());
        for (era, text) in [
            (
                Era::Legacy,
                r#"{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"x","_meta":{"progressToken":"tok"},"arguments":{"a":1.50}}}"#,
            ),
            (
                Era::Legacy,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{ "cursor" : "x" }}"#,
            ),
            (
                Era::Modern,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            ),
            (
                Era::Modern,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo", "arguments":{"a":1.50}} }"#,
            ),
            (
                Era::Modern,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"k":1}}}"#,
            ),
            (
                Era::Modern,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}"#,
            ),
        ] {
            let original = request(text);
            let encoded = encode(
                &original.id,
                &original.method,
                original.params.as_deref(),
                7,
                era,
                &identity,
            );
            let mut prepared = original.clone();
            let expected = prepare(&mut prepared, 7, era, &identity);
            assert_eq!(
                String::from_utf8(encoded.bytes).unwrap(),
                String::from_utf8(Message::from(prepared).to_vec()).unwrap(),
                "{text}"
            );
            assert_eq!(encoded.prepared.restore.original_id, original.id);
            assert_eq!(encoded.prepared.routed_name, expected.routed_name);
        }
    }

    #[test]
    fn modern_request_with_the_whole_meta_goes_verbatim() {
        let identity = Identity::new(&Options::default());
        let text = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1.50},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}"#;
        let mut r = request(text);
        let params = r.params.as_deref().unwrap().get().to_owned();
        let prepared = prepare(&mut r, 2, Era::Modern, &identity);
        assert_eq!(
            r.params.unwrap().get(),
            params,
            "nothing to add: kept byte for byte"
        );
        assert_eq!(prepared.routed_name.as_deref(), Some("echo"));
        // Another version, or a key missing: the gateway's keys are written.
        let older = text.replace("2026-07-28", "2025-11-25");
        let mut r = request(&older);
        prepare(&mut r, 2, Era::Modern, &identity);
        let params: serde_json::Value = serde_json::from_str(r.params.unwrap().get()).unwrap();
        assert_eq!(params["_meta"][META_PROTOCOL_VERSION], "2026-07-28");
        assert_eq!(
            params["_meta"][META_CLIENT_INFO]["name"], "c",
            "the client's own kept"
        );
        let no_info = text.replace(
            r#""io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"#,
            "",
        );
        let mut r = request(&no_info);
        prepare(&mut r, 2, Era::Modern, &identity);
        let params: serde_json::Value = serde_json::from_str(r.params.unwrap().get()).unwrap();
        assert_eq!(params["_meta"][META_CLIENT_INFO]["name"], "mcp-gateway");
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
