//! The bounded label values: MCP methods (unknown ones are `other`), the interface a
//! request came in on, and the outcome classes (`error_type`). Each maps to a small
//! index, so a label set is an array position rather than a map key.

use gateway_core::mcp::Method;

/// `mcp_method_name` values, by index ([`method_index`]).
pub(crate) const METHODS: [&str; 18] = [
    "initialize",
    "notifications/initialized",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "prompts/list",
    "prompts/get",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "notifications/progress",
    "notifications/cancelled",
    // Any method the gateway does not know: its name is the client's, so not a label.
    "other",
];

/// The index of `method` in [`METHODS`].
pub(crate) fn method_index(method: &Method) -> usize {
    match method {
        Method::Initialize => 0,
        Method::Initialized => 1,
        Method::Ping => 2,
        Method::ServerDiscover => 3,
        Method::ToolsList => 4,
        Method::ToolsCall => 5,
        Method::ResourcesList => 6,
        Method::ResourcesRead => 7,
        Method::ResourcesTemplatesList => 8,
        Method::PromptsList => 9,
        Method::PromptsGet => 10,
        Method::ResourcesSubscribe => 11,
        Method::ResourcesUnsubscribe => 12,
        Method::CompletionComplete => 13,
        Method::LoggingSetLevel => 14,
        Method::Progress => 15,
        Method::Cancelled => 16,
        Method::Other(_) => 17,
    }
}

/// Which of the gateway's faces a request came in on (`interface`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Interface {
    /// The guide's REST facade (`/mcp/{template}/tools/call`, ...).
    #[default]
    Rest,
    /// Streamable HTTP (`/mcp`, `/mcp/{template}`), both protocol eras.
    Mcp,
    /// The 2024-11-05 HTTP+SSE transport (`/mcp/{template}/sse` + `messages`).
    LegacySse,
}

impl Interface {
    pub(crate) const ALL: [Interface; 3] = [Interface::Rest, Interface::Mcp, Interface::LegacySse];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Interface::Rest => "rest",
            Interface::Mcp => "mcp",
            Interface::LegacySse => "legacy_sse",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Outcomes of a server operation (a relayed client request): `error_type`, empty
/// for success. The relay's failure classes, plus an upstream's JSON-RPC error.
pub(crate) const SERVER_OUTCOMES: [&str; 5] = [
    "",
    "jsonrpc_error",
    "timeout",
    "unavailable",
    "upstream_failed",
];

/// The index in [`SERVER_OUTCOMES`] of a relay failure class (`RelayError::class`).
pub(crate) fn server_outcome(class: &str) -> usize {
    match class {
        "jsonrpc_error" => 1,
        "timeout" => 2,
        "upstream_failed" => 4,
        // `unavailable`, and `template_not_found` (not recorded: no such template).
        _ => 3,
    }
}

/// Outcomes of a client operation (one upstream attempt): `error_type`, empty for an
/// answer; the transport's failure classes (`gateway_transport::Error::class`).
pub(crate) const CLIENT_OUTCOMES: [&str; 9] = [
    "",
    "jsonrpc_error",
    "timeout",
    "too_large",
    "http_status",
    "closed",
    "protocol",
    "io",
    "unsent",
];

/// The index in [`CLIENT_OUTCOMES`] of `jsonrpc_error` or a transport failure class
/// (an unknown class counts as `io`).
pub(crate) fn client_outcome(class: &str) -> usize {
    CLIENT_OUTCOMES
        .iter()
        .skip(1)
        .position(|c| *c == class)
        .map_or(7, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_method_has_its_own_name() {
        for (i, name) in METHODS.iter().enumerate().take(METHODS.len() - 1) {
            let method = Method::parse(name);
            assert_eq!(method_index(&method), i, "{name}");
            assert_eq!(method.as_str(), *name);
        }
        assert_eq!(method_index(&Method::parse("x/y")), METHODS.len() - 1);
    }

    #[test]
    fn outcome_classes() {
        assert_eq!(CLIENT_OUTCOMES[client_outcome("unsent")], "unsent");
        assert_eq!(CLIENT_OUTCOMES[client_outcome("timeout")], "timeout");
        assert_eq!(CLIENT_OUTCOMES[client_outcome("weird")], "io");
        assert_eq!(
            CLIENT_OUTCOMES[client_outcome("jsonrpc_error")],
            "jsonrpc_error"
        );
        assert_eq!(CLIENT_OUTCOMES[client_outcome("")], "io");
        assert_eq!(
            SERVER_OUTCOMES[server_outcome("upstream_failed")],
            "upstream_failed"
        );
        assert_eq!(
            SERVER_OUTCOMES[server_outcome("unavailable")],
            "unavailable"
        );
    }
}
