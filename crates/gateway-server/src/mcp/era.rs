//! Protocol-era rules of a request: what a 2026-07-28 request must carry in its headers
//! (−32020 on a mismatch, −32022 for an unknown version), legacy version headers, and
//! the result fields modern clients require.

use axum::http::HeaderMap;
use base64::{Engine, engine::general_purpose::STANDARD};
use gateway_core::{
    jsonrpc::{ErrorObject, code},
    mcp::{
        Era, Method, ParamsView, ProtocolVersion, RawObject,
        wire::{HEADER_METHOD, HEADER_NAME, HEADER_PROTOCOL_VERSION},
    },
};
use serde_json::{json, value::RawValue};

/// The `_meta` protocol version of a request that carries one (a 2026-07-28 request).
/// The endpoint reads it from the params view it parses once.
#[cfg(test)]
pub(crate) fn meta_version(params: Option<&RawValue>) -> Option<String> {
    let params = ParamsView::parse(params).ok()?;
    let meta = params.meta().ok()?;
    meta.protocol_version.map(|v| v.into_owned())
}

/// `check_modern_view` on raw params (the unit tests' way in).
#[cfg(test)]
pub(crate) fn check_modern(
    headers: &HeaderMap,
    method: &Method,
    params: Option<&RawValue>,
    version: &str,
) -> Result<ProtocolVersion, ErrorObject> {
    let view = ParamsView::parse(params).unwrap_or_default();
    check_modern_view(headers, method, &view, version)
}

/// Checks a stateless request's version and its `MCP-Protocol-Version`, `Mcp-Method`
/// and `Mcp-Name` headers against the body, on params already viewed (the endpoint
/// reads them once).
pub(crate) fn check_modern_view(
    headers: &HeaderMap,
    method: &Method,
    params: &ParamsView<'_>,
    version: &str,
) -> Result<ProtocolVersion, ErrorObject> {
    let supported = ProtocolVersion::parse(version).filter(|v| v.era() == Era::Modern);
    let Some(parsed) = supported else {
        return Err(ErrorObject::new(
            code::UNSUPPORTED_PROTOCOL_VERSION,
            format!("unsupported protocol version {version:?}"),
        )
        .with_data(json!({
            "supported": [ProtocolVersion::LATEST.as_str()],
            "requested": version,
        })));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mismatch = |what: &str, field: &str| {
        ErrorObject::new(
            code::HEADER_MISMATCH,
            format!("{what} header does not match the request body's '{field}'"),
        )
    };
    if header(HEADER_PROTOCOL_VERSION) != Some(version) {
        return Err(mismatch("mcp-protocol-version", "_meta protocolVersion"));
    }
    if header(HEADER_METHOD) != Some(method.as_str()) {
        return Err(mismatch("mcp-method", "method"));
    }
    if let Some(field) = method.name_param() {
        let body = match field {
            "uri" => params.uri.as_deref(),
            _ => params.name.as_deref(),
        };
        let sent = header(HEADER_NAME).map(decode_header_value);
        if sent.as_deref() != body {
            return Err(ErrorObject::new(
                code::HEADER_MISMATCH,
                format!("mcp-name header does not match the request body's '{field}' parameter"),
            ));
        }
    }
    Ok(parsed)
}

/// A header value as sent: plain ASCII, or `=?base64?...?=` for anything else.
fn decode_header_value(value: &str) -> String {
    value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
        .and_then(|b64| STANDARD.decode(b64).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| value.to_owned())
}

/// Checks a legacy session request's `MCP-Protocol-Version` header, if present.
pub(crate) fn check_legacy_header(headers: &HeaderMap) -> Result<(), String> {
    match headers.get(HEADER_PROTOCOL_VERSION).map(|v| v.to_str()) {
        None => Ok(()),
        Some(Ok(v)) if ProtocolVersion::parse(v).is_some() => Ok(()),
        Some(v) => Err(format!(
            "Bad Request: unsupported protocol version {:?} (supported versions: {})",
            v.unwrap_or_default(),
            ProtocolVersion::ALL
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Adds what a 2026-07-28 client requires and a legacy upstream does not send:
/// `resultType`, and cache hints (`ttlMs: 0`, `cacheScope: "private"`: a gateway cannot
/// know whether results are shareable) on list and read results.
pub(crate) fn modernize(method: &Method, result: Box<RawValue>) -> Box<RawValue> {
    let cacheable = matches!(
        method,
        Method::ToolsList
            | Method::PromptsList
            | Method::ResourcesList
            | Method::ResourcesTemplatesList
            | Method::ResourcesRead
            | Method::PromptsGet
            | Method::ServerDiscover
    );
    // Most results already carry what they need: look before rebuilding.
    #[derive(serde::Deserialize)]
    struct Present {
        #[serde(default, rename = "resultType")]
        result_type: Option<serde::de::IgnoredAny>,
        #[serde(default, rename = "cacheScope")]
        cache_scope: Option<serde::de::IgnoredAny>,
    }
    if let Ok(present) = serde_json::from_str::<Present>(result.get())
        && present.result_type.is_some()
        && (!cacheable || present.cache_scope.is_some())
    {
        return result;
    }
    let Ok(mut object) = RawObject::parse(&result) else {
        return result;
    };
    let mut changed = false;
    if !object.contains_key("resultType") {
        object.insert_value("resultType", "complete");
        changed = true;
    }
    if cacheable && !object.contains_key("cacheScope") {
        object.insert_value("ttlMs", &0);
        object.insert_value("cacheScope", "private");
        changed = true;
    }
    if changed { object.to_raw() } else { result }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn params(params: &str) -> Box<RawValue> {
        RawValue::from_string(params.to_owned()).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#;

    #[test]
    fn headers_must_match_the_body() {
        let call = params(&format!(r#"{{"name":"add",{META}}}"#));
        let call = Some(&*call);
        let tools_call = Method::ToolsCall;
        assert_eq!(meta_version(call).as_deref(), Some("2026-07-28"));
        let good = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "add"),
        ]);
        assert!(check_modern(&good, &tools_call, call, "2026-07-28").is_ok());
        let encoded = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?YWRk?="),
        ]);
        assert!(check_modern(&encoded, &tools_call, call, "2026-07-28").is_ok());
        for bad in [
            headers(&[("mcp-method", "tools/call"), ("mcp-name", "add")]),
            headers(&[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/list"),
                ("mcp-name", "add"),
            ]),
            headers(&[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "sub"),
            ]),
        ] {
            assert_eq!(
                check_modern(&bad, &tools_call, call, "2026-07-28")
                    .unwrap_err()
                    .code,
                code::HEADER_MISMATCH
            );
        }
        let err = check_modern(&good, &tools_call, call, "2027-01-01").unwrap_err();
        assert_eq!(err.code, code::UNSUPPORTED_PROTOCOL_VERSION);
    }

    #[test]
    fn modernize_adds_only_missing_fields() {
        let raw = RawValue::from_string(r#"{"tools":[{"name":"a","x":1}]}"#.into()).unwrap();
        let out = modernize(&Method::ToolsList, raw);
        assert_eq!(
            out.get(),
            r#"{"tools":[{"name":"a","x":1}],"resultType":"complete","ttlMs":0,"cacheScope":"private"}"#
        );
        let raw = RawValue::from_string(r#"{"content":[],"resultType":"input_required"}"#.into())
            .unwrap();
        assert_eq!(
            modernize(&Method::ToolsCall, raw).get(),
            r#"{"content":[],"resultType":"input_required"}"#
        );
    }
}
