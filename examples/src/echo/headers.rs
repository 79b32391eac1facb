//! HTTP header inspection: `Accept`, `Content-Type` and the modern `Mcp-Method` / `Mcp-Name`
//! checks.

use hyper::HeaderMap;
use hyper::header::{self, HeaderName};
use serde_json::Value;

use super::rpc::{HEADER_MISMATCH, RpcError};

/// `Mcp-Method` (modern: must equal the body's `method`).
pub(crate) const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name` (modern: must equal `params.name` / `params.uri`).
pub(crate) const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
/// `MCP-Protocol-Version`.
pub(crate) const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// What the client's `Accept` header allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accept {
    /// `application/json` (or a wildcard, or no `Accept` header at all).
    pub(crate) json: bool,
    /// `text/event-stream`, named explicitly.
    pub(crate) sse: bool,
}

impl Accept {
    /// Reads every `Accept` header value.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all(header::ACCEPT).iter().peekable();
        if values.peek().is_none() {
            return Self {
                json: true,
                sse: false,
            };
        }
        let mut accept = Self {
            json: false,
            sse: false,
        };
        let media_types = values
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|item| item.split(';').next().unwrap_or("").trim());
        for media_type in media_types {
            if ["application/json", "application/*", "*/*"]
                .iter()
                .any(|t| media_type.eq_ignore_ascii_case(t))
            {
                accept.json = true;
            } else if media_type.eq_ignore_ascii_case("text/event-stream") {
                accept.sse = true;
            }
        }
        accept
    }

    /// Neither JSON nor SSE is acceptable (→ 406).
    pub(crate) fn is_unacceptable(self) -> bool {
        !self.json && !self.sse
    }
}

/// Whether `Content-Type` is `application/json` (parameters such as `charset` allowed).
pub(crate) fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// A header as a string (`None` if absent or not visible ASCII).
pub(crate) fn get<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks `Mcp-Method` and `Mcp-Name`, when present, against the body (→ 400 + -32020).
pub(crate) fn check_mcp_headers(
    headers: &HeaderMap,
    method: &str,
    params: Option<&Value>,
) -> Result<(), RpcError> {
    if let Some(value) = headers.get(&MCP_METHOD)
        && value.as_bytes() != method.as_bytes()
    {
        return Err(RpcError::new(
            HEADER_MISMATCH,
            "mcp-method header does not match the request body's method",
        ));
    }
    let field = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return Ok(()),
    };
    let Some(value) = headers.get(&MCP_NAME) else {
        return Ok(());
    };
    let body_value = params.and_then(|p| p.get(field)).and_then(Value::as_str);
    let matches = match (
        body_value,
        value.to_str().ok().and_then(decode_header_value),
    ) {
        (Some(body), Some(header)) => body.as_bytes() == header.as_slice(),
        _ => false,
    };
    if matches {
        Ok(())
    } else {
        Err(RpcError::new(
            HEADER_MISMATCH,
            format!("mcp-name header does not match the request body's '{field}' parameter"),
        ))
    }
}

/// Decodes a header value that may use the `=?base64?<data>?=` form for non-ASCII values.
fn decode_header_value(value: &str) -> Option<Vec<u8>> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(encoded) => decode_base64(encoded),
        None => Some(value.as_bytes().to_vec()),
    }
}

/// Standard base64 (padding optional).
fn decode_base64(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in input.trim_end_matches('=').bytes() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;
    use serde_json::json;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn accept_variants() {
        assert_eq!(
            Accept::from_headers(&headers(&[])),
            Accept {
                json: true,
                sse: false
            }
        );
        let both = headers(&[("accept", "application/json, text/event-stream")]);
        assert_eq!(
            Accept::from_headers(&both),
            Accept {
                json: true,
                sse: true
            }
        );
        let wildcard = headers(&[("accept", "*/*;q=0.8")]);
        assert_eq!(
            Accept::from_headers(&wildcard),
            Accept {
                json: true,
                sse: false
            }
        );
        assert!(Accept::from_headers(&headers(&[("accept", "text/html")])).is_unacceptable());
    }

    #[test]
    fn content_type() {
        assert!(is_json_content_type(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json_content_type(&headers(&[(
            "content-type",
            "text/plain"
        )])));
        assert!(!is_json_content_type(&headers(&[])));
    }

    #[test]
    fn mcp_name_and_method() {
        let params = json!({"name": "héllo"});
        let ok = headers(&[
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?aMOpbGxv?="),
        ]);
        assert!(check_mcp_headers(&ok, "tools/call", Some(&params)).is_ok());
        let bad = headers(&[("mcp-name", "other")]);
        assert_eq!(
            check_mcp_headers(&bad, "tools/call", Some(&params))
                .unwrap_err()
                .code,
            -32020
        );
        let bad = headers(&[("mcp-method", "tools/list")]);
        assert_eq!(
            check_mcp_headers(&bad, "tools/call", Some(&params))
                .unwrap_err()
                .code,
            -32020
        );
        assert!(check_mcp_headers(&headers(&[]), "tools/call", None).is_ok());
    }
}
