//! [`Message`]: one JSON-RPC 2.0 message whose payload stays raw JSON.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{ErrorObject, RequestId};
use crate::jsonrpc_write_str as write_json_str;

/// A JSON-RPC 2.0 message, classified by shape. `params`, `result` and `error` are kept
/// as the sender's raw JSON, so re-encoding changes only the envelope the gateway owns.
#[derive(Debug, Clone)]
pub enum Message {
    /// A call that expects a response.
    Request(Request),
    /// A one-way message.
    Notification(Notification),
    /// The answer to a request.
    Response(Response),
}

/// A JSON-RPC request: id, method and raw params.
#[derive(Debug, Clone)]
pub struct Request {
    /// The caller's id.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// The params exactly as sent (an object or array), if any.
    pub params: Option<Box<RawValue>>,
}

/// A JSON-RPC notification: method and raw params, no id.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The params exactly as sent, if any.
    pub params: Option<Box<RawValue>>,
}

/// A JSON-RPC response: a result or an error for `id`.
#[derive(Debug, Clone)]
pub struct Response {
    /// The id of the request answered; `None` is JSON `null` (an error about a request
    /// whose id could not be read).
    pub id: Option<RequestId>,
    /// The result or error, raw.
    pub outcome: Outcome,
}

/// What a response carries.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// `result`, raw.
    Result(Box<RawValue>),
    /// `error`, raw (an [`ErrorObject`] when well-formed).
    Error(Box<RawValue>),
}

/// Why bytes are not a single JSON-RPC message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON at all (JSON-RPC -32700).
    #[error("parse error: {0}")]
    InvalidJson(String),
    /// JSON, but not a valid message (JSON-RPC -32600). `id` is kept when readable so
    /// the error response can name the request.
    #[error("invalid request: {reason}")]
    InvalidMessage {
        /// The request id, if one could be read.
        id: Option<RequestId>,
        /// What is wrong.
        reason: &'static str,
    },
    /// A JSON array: a batch, which the caller handles (or rejects) itself.
    #[error("batch requests are not supported here")]
    Batch,
}

impl ParseError {
    /// The JSON-RPC error code this failure maps to.
    pub fn code(&self) -> i32 {
        match self {
            ParseError::InvalidJson(_) => super::code::PARSE_ERROR,
            ParseError::InvalidMessage { .. } | ParseError::Batch => super::code::INVALID_REQUEST,
        }
    }
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    jsonrpc: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Box<RawValue>>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    params: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    result: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    error: Option<Box<RawValue>>,
}

/// Keeps an explicit `null` as `Some("null")`, so `"id": null` differs from no id.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

fn starts_with(raw: &RawValue, byte: u8) -> bool {
    raw.get().as_bytes().first() == Some(&byte)
}

impl Message {
    /// Parses one message. Whitespace around it is allowed; a batch (array) is reported
    /// as [`ParseError::Batch`].
    ///
    /// ```
    /// use gateway_core::jsonrpc::{Message, RequestId};
    /// let msg = Message::parse(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#).unwrap();
    /// assert_eq!(msg.method(), Some("tools/list"));
    /// assert_eq!(msg.id(), Some(&RequestId::Number(7)));
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'[') {
            return Err(ParseError::Batch);
        }
        let wire: Wire<'_> = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_data() {
                ParseError::InvalidMessage {
                    id: None,
                    reason: "not a JSON-RPC message object",
                }
            } else {
                ParseError::InvalidJson(e.to_string())
            }
        })?;
        let id_raw = wire.id;
        let id = id_raw.as_deref().and_then(RequestId::from_raw);
        let invalid = |id: &Option<RequestId>, reason| ParseError::InvalidMessage {
            id: id.clone(),
            reason,
        };
        if wire.jsonrpc.as_deref() != Some("2.0") {
            return Err(invalid(&id, "\"jsonrpc\" must be \"2.0\""));
        }
        if let Some(params) = &wire.params
            && !(starts_with(params, b'{') || starts_with(params, b'['))
        {
            return Err(invalid(&id, "\"params\" must be an object or an array"));
        }
        match (wire.method, wire.result, wire.error) {
            (Some(method), None, None) => {
                if method.is_empty() {
                    return Err(invalid(&id, "\"method\" must not be empty"));
                }
                let method = method.into_owned();
                match (id_raw, id) {
                    (None, _) => Ok(Message::Notification(Notification {
                        method,
                        params: wire.params,
                    })),
                    (Some(_), Some(id)) => Ok(Message::Request(Request {
                        id,
                        method,
                        params: wire.params,
                    })),
                    (Some(_), None) => Err(invalid(&None, "\"id\" must be a string or an integer")),
                }
            }
            (None, Some(result), None) => match id {
                Some(id) => Ok(Message::Response(Response {
                    id: Some(id),
                    outcome: Outcome::Result(result),
                })),
                None => Err(invalid(&id, "a result needs a string or integer \"id\"")),
            },
            (None, None, Some(error)) => {
                let null_id = id_raw.as_deref().is_some_and(|r| r.get() == "null");
                if id.is_none() && !null_id {
                    return Err(invalid(&id, "an error needs an \"id\" (null allowed)"));
                }
                if !starts_with(&error, b'{') {
                    return Err(invalid(&id, "\"error\" must be an object"));
                }
                Ok(Message::Response(Response {
                    id,
                    outcome: Outcome::Error(error),
                }))
            }
            _ => Err(invalid(
                &id,
                "a message has either a \"method\", a \"result\" or an \"error\"",
            )),
        }
    }

    /// The method, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request(r) => Some(&r.method),
            Message::Notification(n) => Some(&n.method),
            Message::Response(_) => None,
        }
    }

    /// The id, for requests and responses with a non-null id.
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            Message::Request(r) => Some(&r.id),
            Message::Response(r) => r.id.as_ref(),
            Message::Notification(_) => None,
        }
    }

    /// The raw params, for requests and notifications.
    pub fn params(&self) -> Option<&RawValue> {
        match self {
            Message::Request(r) => r.params.as_deref(),
            Message::Notification(n) => n.params.as_deref(),
            Message::Response(_) => None,
        }
    }

    /// Appends the encoded message (one line, no trailing newline) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"jsonrpc":"2.0""#);
        match self {
            Message::Request(r) => {
                out.extend_from_slice(br#","id":"#);
                r.id.write_json(out);
                write_method_params(out, &r.method, r.params.as_deref());
            }
            Message::Notification(n) => write_method_params(out, &n.method, n.params.as_deref()),
            Message::Response(r) => {
                out.extend_from_slice(br#","id":"#);
                match &r.id {
                    Some(id) => id.write_json(out),
                    None => out.extend_from_slice(b"null"),
                }
                let (key, raw) = match &r.outcome {
                    Outcome::Result(raw) => (&br#","result":"#[..], raw),
                    Outcome::Error(raw) => (&br#","error":"#[..], raw),
                };
                out.extend_from_slice(key);
                out.extend_from_slice(raw.get().as_bytes());
            }
        }
        out.push(b'}');
    }

    /// The encoded message as a new buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.payload_len());
        self.write_to(&mut out);
        out
    }

    fn payload_len(&self) -> usize {
        match self {
            Message::Request(r) => r.params.as_ref().map_or(0, |p| p.get().len()),
            Message::Notification(n) => n.params.as_ref().map_or(0, |p| p.get().len()),
            Message::Response(r) => match &r.outcome {
                Outcome::Result(raw) | Outcome::Error(raw) => raw.get().len(),
            },
        }
    }
}

fn write_method_params(out: &mut Vec<u8>, method: &str, params: Option<&RawValue>) {
    out.extend_from_slice(br#","method":"#);
    write_json_str(out, method);
    if let Some(params) = params {
        out.extend_from_slice(br#","params":"#);
        out.extend_from_slice(params.get().as_bytes());
    }
}

/// Encodes a request from borrowed parts; `params` is raw JSON text, written verbatim
/// (the caller vouches for it: a value that was parsed, or spliced from parsed parts).
/// Lets a caller that rewrites only the id or `_meta` send without copying the request.
pub fn encode_request(id: &RequestId, method: &str, params: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + method.len() + params.map_or(0, str::len));
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    id.write_json(&mut out);
    out.extend_from_slice(br#","method":"#);
    write_json_str(&mut out, method);
    if let Some(params) = params {
        out.extend_from_slice(br#","params":"#);
        out.extend_from_slice(params.as_bytes());
    }
    out.push(b'}');
    out
}

impl Request {
    /// A request with the given id, method and params.
    pub fn new(id: RequestId, method: impl Into<String>, params: Option<Box<RawValue>>) -> Self {
        Self {
            id,
            method: method.into(),
            params,
        }
    }
}

impl Response {
    /// A successful response.
    pub fn result(id: RequestId, result: Box<RawValue>) -> Self {
        Self {
            id: Some(id),
            outcome: Outcome::Result(result),
        }
    }

    /// An error response (`id` `None` encodes as `null`).
    pub fn error(id: Option<RequestId>, error: &ErrorObject) -> Self {
        Self {
            id,
            outcome: Outcome::Error(to_raw(error)),
        }
    }

    /// The error object, when this is a well-formed error response.
    pub fn error_object(&self) -> Option<ErrorObject> {
        match &self.outcome {
            Outcome::Error(raw) => serde_json::from_str(raw.get()).ok(),
            Outcome::Result(_) => None,
        }
    }
}

/// Serialises a value the gateway builds itself into raw JSON.
pub fn to_raw<T: serde::Serialize + ?Sized>(value: &T) -> Box<RawValue> {
    // Serialising our own Serialize types (maps with string keys, no custom errors)
    // cannot fail; `null` is a safe fallback should that ever change.
    serde_json::value::to_raw_value(value)
        .unwrap_or_else(|_| RawValue::from_string("null".to_owned()).unwrap_or_default())
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}

impl From<Notification> for Message {
    fn from(n: Notification) -> Self {
        Message::Notification(n)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Message::Response(r)
    }
}

#[cfg(test)]
mod tests;
