//! [`JsonBody`]: a JSON request body whose errors become `400 {"field": ...}`.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like `axum::Json`, but every rejection is an [`ApiError`] naming the field.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::invalid("body", e.body_text()))?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error(&mut de) {
            Ok(value) => Ok(JsonBody(value)),
            Err((path, e)) => Err(ApiError::invalid(path, e)),
        }
    }
}

/// Deserialises and, on failure, reports the field serde named (or `body`).
fn serde_path_to_error<T: DeserializeOwned>(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'_>>,
) -> Result<T, (String, String)> {
    match T::deserialize(&mut *de).and_then(|v| de.end().map(|()| v)) {
        Ok(v) => Ok(v),
        Err(e) => {
            let message = e.to_string();
            // serde names the field in backticks: "missing field `name`", "unknown field `x`".
            let field = message
                .split('`')
                .nth(1)
                .filter(|f| !f.is_empty() && f.len() < 64 && !f.contains(' '))
                .unwrap_or("body")
                .to_owned();
            Err((field, message))
        }
    }
}
