//! JSON-RPC request ids.

use std::{fmt, sync::Arc};

use serde_json::value::RawValue;

/// A JSON-RPC request id: a string or an integer (MCP forbids `null` and fractions).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum RequestId {
    /// An integer id.
    Number(i64),
    /// A string id (kept as given, unescaped).
    String(Arc<str>),
}

impl RequestId {
    /// Reads an id from its raw JSON form; `None` for anything but a string or an integer.
    pub fn from_raw(raw: &RawValue) -> Option<Self> {
        let text = raw.get();
        if text.starts_with('"') {
            serde_json::from_str::<String>(text)
                .ok()
                .map(|s| RequestId::String(s.into()))
        } else {
            text.parse::<i64>().ok().map(RequestId::Number)
        }
    }

    /// Appends the id's JSON form to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            RequestId::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            RequestId::String(s) => crate::jsonrpc_write_str(out, s),
        }
    }

    /// The id's JSON form (`7` or `"abc"`).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(16);
        self.write_json(&mut out);
        // Both branches write valid UTF-8 (digits, or serde_json's string encoding).
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(s.into())
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for RequestId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Number(n) => s.serialize_i64(*n),
            RequestId::String(v) => s.serialize_str(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn parses_strings_and_integers_only() {
        assert_eq!(RequestId::from_raw(&raw("7")), Some(RequestId::Number(7)));
        assert_eq!(RequestId::from_raw(&raw("-3")), Some(RequestId::Number(-3)));
        assert_eq!(
            RequestId::from_raw(&raw(r#""a\"b""#)),
            Some(RequestId::from("a\"b"))
        );
        for bad in ["1.5", "null", "{}", "[]", "true", "1e3"] {
            assert_eq!(RequestId::from_raw(&raw(bad)), None, "{bad}");
        }
    }

    #[test]
    fn json_round_trip() {
        assert_eq!(RequestId::from("a\"b").to_json(), r#""a\"b""#);
        assert_eq!(RequestId::Number(42).to_json(), "42");
    }
}
