//! [`JsonBody`]: a JSON request body whose errors become `400 {"field": ...}` (413 when
//! it is over the size limit, 415 when `Content-Type` is not `application/json`).

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::StatusCode,
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like `axum::Json`, but every rejection is an [`ApiError`] naming the field.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !crate::media::is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::invalid("body", e.body_text())
            }
        })?;
        // Every body of this API is an object; serde would also fill a struct from an
        // array (`[null, null]`), which no client means.
        if !is_object(&bytes) {
            return Err(ApiError::invalid("body", "must be a JSON object"));
        }
        parse(&bytes).map(JsonBody)
    }
}

/// Whether `bytes` starts (after whitespace) like a JSON object.
fn is_object(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

/// Parses `bytes`; a failure names the JSON path serde stopped at (`name`,
/// `arguments.a`, ...) or `body` for syntax errors at the top level.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Hot path: a plain parse. Only a body that fails is parsed again with path
    // tracking (which costs about a third more) to name the field.
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(_) => parse_naming_the_field(bytes),
    }
}

fn parse_naming_the_field<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = match path.as_str() {
            "." | "" | "?" => missing_field(e.inner()).unwrap_or_else(|| "body".to_owned()),
            p => p.to_owned(),
        };
        ApiError::invalid(field, e.into_inner().to_string())
    })?;
    de.end()
        .map_err(|e| ApiError::invalid("body", e.to_string()))?;
    Ok(value)
}

/// serde reports a missing field at the parent's path; the field is in the message.
fn missing_field(e: &serde_json::Error) -> Option<String> {
    let message = e.to_string();
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next().map(ToOwned::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_objects_are_bodies() {
        assert!(is_object(b" \n{\"a\":1}"));
        assert!(!is_object(b"[null, null]"));
        assert!(!is_object(b"null"));
        assert!(!is_object(b""));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Call {
        name: String,
        #[serde(default)]
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
    }

    fn field(body: &str) -> String {
        match parse::<Call>(body.as_bytes()) {
            Err(ApiError::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_the_offending_field() {
        assert_eq!(field(r#"{"name": 5}"#), "name");
        assert_eq!(field(r#"{"arguments": {}}"#), "name");
        assert_eq!(field(r#"{"name": "x", "arguments": 3}"#), "arguments");
        assert_eq!(field(r#"{"name": "x", "bogus": 1}"#), "bogus");
        assert_eq!(field("{"), "body");
        assert_eq!(field(r#"{"name": "x"} trailing"#), "body");
    }
}
