//! Borrowed lookups of the few params fields the gateway routes on.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::wire::{
    META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROGRESS_TOKEN, META_PROTOCOL_VERSION,
};

/// The routed fields of a request's params; everything else is skipped unparsed.
#[derive(Debug, Default, Deserialize)]
pub struct ParamsView<'a> {
    /// `params.name` (tools/call, prompts/get).
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// `params.uri` (resources/read, subscribe).
    #[serde(borrow, default)]
    pub uri: Option<Cow<'a, str>>,
    /// `params.cursor` (list methods).
    #[serde(borrow, default)]
    pub cursor: Option<Cow<'a, str>>,
    /// `params._meta`, raw.
    #[serde(borrow, default, rename = "_meta")]
    pub meta: Option<&'a RawValue>,
}

impl<'a> ParamsView<'a> {
    /// Reads the routed fields of `params` (an absent params is an empty view).
    pub fn parse(params: Option<&'a RawValue>) -> Result<Self, serde_json::Error> {
        match params {
            Some(raw) => serde_json::from_str(raw.get()),
            None => Ok(Self::default()),
        }
    }

    /// The routed fields of `_meta`.
    pub fn meta(&self) -> Result<MetaView<'a>, serde_json::Error> {
        match self.meta {
            Some(raw) => serde_json::from_str(raw.get()),
            None => Ok(MetaView::default()),
        }
    }
}

/// The routed fields of `params._meta`.
#[derive(Debug, Default, Deserialize)]
pub struct MetaView<'a> {
    /// `progressToken` (a string or integer), raw.
    #[serde(borrow, default, rename = "progressToken")]
    pub progress_token: Option<&'a RawValue>,
    /// `io.modelcontextprotocol/protocolVersion`: present on 2026-07-28 requests.
    #[serde(borrow, default, rename = "io.modelcontextprotocol/protocolVersion")]
    pub protocol_version: Option<Cow<'a, str>>,
    /// `io.modelcontextprotocol/clientCapabilities`, raw: a request that has it (and
    /// the two others) needs no `_meta` added on its way to a 2026-07-28 upstream.
    #[serde(borrow, default, rename = "io.modelcontextprotocol/clientCapabilities")]
    pub client_capabilities: Option<&'a RawValue>,
    /// `io.modelcontextprotocol/clientInfo`, raw.
    #[serde(borrow, default, rename = "io.modelcontextprotocol/clientInfo")]
    pub client_info: Option<&'a RawValue>,
}

// Keep the serde renames and the shared constants in step.
const _: () = {
    assert!(META_PROGRESS_TOKEN.len() == "progressToken".len());
    assert!(META_PROTOCOL_VERSION.len() == "io.modelcontextprotocol/protocolVersion".len());
    assert!(META_CLIENT_CAPABILITIES.len() == "io.modelcontextprotocol/clientCapabilities".len());
    assert!(META_CLIENT_INFO.len() == "io.modelcontextprotocol/clientInfo".len());
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_routed_fields() {
        let raw = RawValue::from_string(
            r#"{"name":"add","arguments":{"a":1},"_meta":{"progressToken":"p1","io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#.into(),
        )
        .unwrap();
        let view = ParamsView::parse(Some(&raw)).unwrap();
        assert_eq!(view.name.as_deref(), Some("add"));
        let meta = view.meta().unwrap();
        assert_eq!(meta.progress_token.unwrap().get(), r#""p1""#);
        assert_eq!(meta.protocol_version.as_deref(), Some("2026-07-28"));
        assert!(ParamsView::parse(None).unwrap().name.is_none());
    }
}
