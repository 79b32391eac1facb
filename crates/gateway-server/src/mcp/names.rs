//! Names on the aggregated `/mcp`: tools and prompts become `{template}{sep}{name}`,
//! resource URIs `{template}+{uri}`. With a single visible template nothing is prefixed
//! (clients, and the conformance fixtures, see the upstream's exact names).

use std::sync::Arc;

/// Longest tool or prompt name MCP clients accept.
pub(crate) const MAX_NAME_LEN: usize = 128;

/// The templates a caller sees on `/mcp` and how their names are joined.
#[derive(Debug, Clone)]
pub(crate) struct Namespace {
    /// Visible templates, sorted.
    pub(crate) templates: Vec<Arc<str>>,
    separator: Arc<str>,
}

impl Namespace {
    pub(crate) fn new(mut templates: Vec<Arc<str>>, separator: Arc<str>) -> Self {
        templates.sort();
        Self {
            templates,
            separator,
        }
    }

    /// Whether names carry a template prefix (more than one template visible).
    pub(crate) fn prefixed(&self) -> bool {
        self.templates.len() > 1
    }

    /// `name` of `template` as the client sees it; `None` when the result would not be a
    /// valid tool name (too long), so the item is left out (and logged by the caller).
    pub(crate) fn outer_name(&self, template: &str, name: &str) -> Option<String> {
        if !self.prefixed() {
            return Some(name.to_owned());
        }
        let outer = format!("{template}{}{name}", self.separator);
        (outer.len() <= MAX_NAME_LEN).then_some(outer)
    }

    /// `uri` of `template` as the client sees it.
    pub(crate) fn outer_uri(&self, template: &str, uri: &str) -> String {
        if self.prefixed() {
            format!("{template}+{uri}")
        } else {
            uri.to_owned()
        }
    }

    /// The template and upstream name of a client-side name. The longest matching
    /// template wins (`a__b__x` with templates `a` and `a__b` is `a__b`'s `x`).
    pub(crate) fn split_name<'n>(&self, name: &'n str) -> Option<(Arc<str>, &'n str)> {
        if !self.prefixed() {
            return self.templates.first().map(|t| (t.clone(), name));
        }
        self.templates
            .iter()
            .filter_map(|t| {
                name.strip_prefix(&**t)
                    .and_then(|rest| rest.strip_prefix(&*self.separator))
                    .map(|inner| (t.clone(), inner))
            })
            .max_by_key(|(t, _)| t.len())
    }

    /// The template and upstream URI of a client-side URI.
    pub(crate) fn split_uri<'u>(&self, uri: &'u str) -> Option<(Arc<str>, &'u str)> {
        if !self.prefixed() {
            return self.templates.first().map(|t| (t.clone(), uri));
        }
        let (template, inner) = uri.split_once('+')?;
        self.templates
            .iter()
            .find(|t| &***t == template)
            .map(|t| (t.clone(), inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(names: &[&str]) -> Namespace {
        Namespace::new(names.iter().map(|n| Arc::from(*n)).collect(), "__".into())
    }

    #[test]
    fn single_template_is_not_prefixed() {
        let ns = ns(&["fs"]);
        assert_eq!(ns.outer_name("fs", "read").as_deref(), Some("read"));
        assert_eq!(ns.split_name("read"), Some((Arc::from("fs"), "read")));
        assert_eq!(ns.outer_uri("fs", "file:///x"), "file:///x");
    }

    #[test]
    fn prefixes_round_trip_and_longest_match_wins() {
        let ns = ns(&["a", "a__b", "time"]);
        let outer = ns.outer_name("time", "get_current_time").unwrap();
        assert_eq!(outer, "time__get_current_time");
        assert_eq!(
            ns.split_name(&outer),
            Some((Arc::from("time"), "get_current_time"))
        );
        assert_eq!(ns.split_name("a__b__x"), Some((Arc::from("a__b"), "x")));
        assert_eq!(ns.split_name("a__y"), Some((Arc::from("a"), "y")));
        assert_eq!(ns.split_name("nope__x"), None);
        assert_eq!(
            ns.split_uri("time+test://r/1"),
            Some((Arc::from("time"), "test://r/1"))
        );
        assert_eq!(ns.split_uri("test://r/1"), None);
    }

    #[test]
    fn overlong_names_are_refused() {
        let ns = ns(&["a", "b"]);
        assert!(ns.outer_name("a", &"x".repeat(126)).is_none());
        assert!(ns.outer_name("a", &"x".repeat(125)).is_some());
    }
}
