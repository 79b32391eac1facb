//! MCP method names the gateway routes on.

use std::fmt;

/// An MCP method: the ones the gateway treats specially, and `Other` for the rest
/// (forwarded unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `initialize` (legacy era handshake).
    Initialize,
    /// `notifications/initialized`.
    Initialized,
    /// `ping`.
    Ping,
    /// `server/discover` (2026-07-28).
    ServerDiscover,
    /// `tools/list`.
    ToolsList,
    /// `tools/call`.
    ToolsCall,
    /// `resources/list`.
    ResourcesList,
    /// `resources/read`.
    ResourcesRead,
    /// `resources/templates/list`.
    ResourcesTemplatesList,
    /// `prompts/list`.
    PromptsList,
    /// `prompts/get`.
    PromptsGet,
    /// `resources/subscribe`.
    ResourcesSubscribe,
    /// `resources/unsubscribe`.
    ResourcesUnsubscribe,
    /// `completion/complete`.
    CompletionComplete,
    /// `logging/setLevel`.
    LoggingSetLevel,
    /// `notifications/progress`.
    Progress,
    /// `notifications/cancelled`.
    Cancelled,
    /// Anything else, forwarded as is.
    Other(String),
}

impl Method {
    /// Classifies a method name.
    pub fn parse(name: &str) -> Method {
        match name {
            "initialize" => Method::Initialize,
            "notifications/initialized" => Method::Initialized,
            "ping" => Method::Ping,
            "server/discover" => Method::ServerDiscover,
            "tools/list" => Method::ToolsList,
            "tools/call" => Method::ToolsCall,
            "resources/list" => Method::ResourcesList,
            "resources/read" => Method::ResourcesRead,
            "resources/templates/list" => Method::ResourcesTemplatesList,
            "prompts/list" => Method::PromptsList,
            "prompts/get" => Method::PromptsGet,
            "resources/subscribe" => Method::ResourcesSubscribe,
            "resources/unsubscribe" => Method::ResourcesUnsubscribe,
            "completion/complete" => Method::CompletionComplete,
            "logging/setLevel" => Method::LoggingSetLevel,
            "notifications/progress" => Method::Progress,
            "notifications/cancelled" => Method::Cancelled,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Initialize => "initialize",
            Method::Initialized => "notifications/initialized",
            Method::Ping => "ping",
            Method::ServerDiscover => "server/discover",
            Method::ToolsList => "tools/list",
            Method::ToolsCall => "tools/call",
            Method::ResourcesList => "resources/list",
            Method::ResourcesRead => "resources/read",
            Method::ResourcesTemplatesList => "resources/templates/list",
            Method::PromptsList => "prompts/list",
            Method::PromptsGet => "prompts/get",
            Method::ResourcesSubscribe => "resources/subscribe",
            Method::ResourcesUnsubscribe => "resources/unsubscribe",
            Method::CompletionComplete => "completion/complete",
            Method::LoggingSetLevel => "logging/setLevel",
            Method::Progress => "notifications/progress",
            Method::Cancelled => "notifications/cancelled",
            Method::Other(name) => name,
        }
    }

    /// Whether repeating the request on another instance is harmless (no side effects):
    /// discovery, listing, reading and pings. `tools/call` is not: tools may act.
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self,
            Method::Ping
                | Method::ServerDiscover
                | Method::ToolsList
                | Method::ResourcesList
                | Method::ResourcesRead
                | Method::ResourcesTemplatesList
                | Method::PromptsList
                | Method::PromptsGet
                | Method::CompletionComplete
        )
    }

    /// The params field that names the target (`Mcp-Name` in 2026-07-28): `name` for
    /// `tools/call` and `prompts/get`, `uri` for `resources/read`.
    pub fn name_param(&self) -> Option<&'static str> {
        match self {
            Method::ToolsCall | Method::PromptsGet => Some("name"),
            Method::ResourcesRead => Some("uri"),
            _ => None,
        }
    }
}

impl PartialEq<str> for Method {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Method {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for name in [
            "initialize",
            "tools/call",
            "resources/templates/list",
            "x/custom",
        ] {
            assert_eq!(Method::parse(name).as_str(), name);
        }
        assert!(Method::parse("tools/list").is_idempotent());
        assert!(!Method::parse("tools/call").is_idempotent());
        assert!(!Method::parse("x/custom").is_idempotent());
        assert_eq!(Method::ResourcesRead.name_param(), Some("uri"));
        assert_eq!(Method::parse("resources/subscribe"), "resources/subscribe");
        assert!(!Method::ResourcesSubscribe.is_idempotent());
    }
}
