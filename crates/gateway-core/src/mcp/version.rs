//! MCP protocol revisions and the two eras.

use std::fmt;

/// An MCP protocol revision the gateway knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtocolVersion {
    /// 2024-11-05: HTTP+SSE transport.
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP.
    V2025_03_26,
    /// 2025-06-18: `MCP-Protocol-Version` header required.
    V2025_06_18,
    /// 2025-11-25: the last session-based revision.
    V2025_11_25,
    /// 2026-07-28: stateless; no `initialize`.
    V2026_07_28,
}

/// How a conversation is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// `initialize` handshake and sessions (2024-11-05 to 2025-11-25).
    Legacy,
    /// Every request describes itself in `_meta` (2026-07-28).
    Modern,
}

impl ProtocolVersion {
    /// Every known revision, oldest first.
    pub const ALL: [ProtocolVersion; 5] = [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ];
    /// The newest session-based revision.
    pub const LATEST_LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;
    /// The newest revision.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2026_07_28;
    /// The version assumed when an HTTP request has no `MCP-Protocol-Version` header.
    pub const HTTP_DEFAULT: ProtocolVersion = ProtocolVersion::V2025_03_26;

    /// Parses a revision string such as `"2025-11-25"`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The revision string.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// The era this revision belongs to.
    pub fn era(self) -> Era {
        if self >= ProtocolVersion::V2026_07_28 {
            Era::Modern
        } else {
            Era::Legacy
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras() {
        assert_eq!(
            ProtocolVersion::parse("2025-11-25").unwrap().era(),
            Era::Legacy
        );
        assert_eq!(
            ProtocolVersion::parse("2026-07-28").unwrap().era(),
            Era::Modern
        );
        assert_eq!(ProtocolVersion::parse("2027-01-01"), None);
        assert!(ProtocolVersion::V2024_11_05 < ProtocolVersion::LATEST);
    }
}
