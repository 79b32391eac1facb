//! A POST's acceptance checks, before anything is dispatched: `Accept` must allow JSON or
//! SSE (406), the body must be JSON (415) and one JSON-RPC message (400, with the parse
//! error's code; batches were removed in 2025-06-18).

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use gateway_core::jsonrpc::{ErrorObject, Message, ParseError};

use super::super::reply::{Refusal, rpc_http};

/// What the `Accept` header allows.
#[derive(Clone, Copy)]
pub(crate) struct Accepts {
    pub(super) json: bool,
    pub(super) sse: bool,
}

impl Accepts {
    /// Reads `Accept` (none at all means JSON).
    pub(super) fn of(headers: &HeaderMap) -> Accepts {
        let mut values = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .peekable();
        if values.peek().is_none() {
            return Accepts {
                json: true,
                sse: false,
            };
        }
        let (mut json, mut sse) = (false, false);
        for value in values {
            for part in value.split(',') {
                let media = part.split(';').next().unwrap_or("").trim();
                let any = media == "*/*";
                json |= any || media.eq_ignore_ascii_case("application/json");
                sse |= any || media.eq_ignore_ascii_case("text/event-stream");
            }
        }
        Accepts { json, sse }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Accepts {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Accepts::of(&parts.headers))
    }
}

/// Checks a POST's headers and parses its body; the refusal is the response.
#[allow(clippy::result_large_err)] // the error is the response, built once on a cold path
pub(super) fn check(headers: &HeaderMap, body: &[u8]) -> Result<(Accepts, Message), Response> {
    let accepts = Accepts::of(headers);
    if !accepts.json && !accepts.sse {
        return Err(Refusal::transport(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable: Accept must include application/json and text/event-stream",
        )
        .into_response());
    }
    if !crate::media::is_json(headers) {
        return Err(Refusal::transport(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: Content-Type must be application/json",
        )
        .into_response());
    }
    match Message::parse(body) {
        Ok(message) => Ok((accepts, message)),
        Err(e) => {
            let id = match &e {
                ParseError::InvalidMessage { id, .. } => id.clone(),
                _ => None,
            };
            let message = match &e {
                ParseError::Batch => "batches are not supported (removed in 2025-06-18)".into(),
                other => other.to_string(),
            };
            let error = ErrorObject::new(e.code(), message);
            Err(rpc_http(StatusCode::BAD_REQUEST, id, &error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accepts(values: &[&str]) -> (bool, bool) {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        }
        let a = Accepts::of(&headers);
        (a.json, a.sse)
    }

    #[test]
    fn reads_every_accept_value() {
        assert_eq!(accepts(&[]), (true, false), "no Accept: JSON");
        assert_eq!(
            accepts(&["application/json, text/event-stream"]),
            (true, true)
        );
        assert_eq!(accepts(&["text/event-stream;q=0.5"]), (false, true));
        assert_eq!(accepts(&["text/html", "Application/JSON"]), (true, false));
        assert_eq!(accepts(&["*/*"]), (true, true));
        assert_eq!(accepts(&["text/html"]), (false, false));
    }
}
