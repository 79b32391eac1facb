//! [`Scope`]: which MCP endpoint a request came to, and so which templates it reaches.

use std::sync::Arc;

use super::names::Namespace;

/// Which MCP endpoint a request came to.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// `/mcp/{template}`: one template, names unchanged.
    Template(Arc<str>),
    /// `/mcp`: every template the caller may use.
    Aggregate(Namespace),
}

impl Scope {
    /// The template of `/mcp/{template}`.
    pub(crate) fn template(&self) -> Option<&str> {
        match self {
            Scope::Template(t) => Some(t),
            Scope::Aggregate(_) => None,
        }
    }
}
