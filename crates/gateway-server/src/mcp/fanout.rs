//! The aggregated `/mcp` catalogue: each list method asks every visible template at
//! once (all pages drained), prefixes names, drops collisions, and serves one page. A
//! template that fails is left out and logged: one broken upstream never breaks `/mcp`.

use std::{collections::HashSet, sync::Arc};

use gateway_auth::Principal;

use futures_util::future::join_all;
use gateway_core::{
    jsonrpc::{Outcome, to_raw},
    mcp::{Method, RawObject},
};
use serde_json::value::RawValue;

use super::names::Namespace;
use crate::{metrics::Interface, relay::Relay};

/// The result key of a list method and the item field that is namespaced.
fn shape(method: &Method) -> (&'static str, &'static str, bool) {
    match method {
        Method::ToolsList => ("tools", "name", false),
        Method::PromptsList => ("prompts", "name", false),
        Method::ResourcesList => ("resources", "uri", true),
        _ => ("resourceTemplates", "uriTemplate", true),
    }
}

/// Serves `tools/list`, `prompts/list`, `resources/list` or `resources/templates/list`.
pub(crate) async fn list(
    relay: &Relay,
    ns: &Namespace,
    method: &Method,
    caller: Option<&Arc<Principal>>,
) -> Outcome {
    let (key, field, is_uri) = shape(method);
    let pages = join_all(ns.templates.iter().map(|template| async move {
        let items = relay
            .list_all_from(Interface::Mcp, template, method, key, caller)
            .await;
        (template, items)
    }))
    .await;
    let mut seen = HashSet::new();
    let mut out: Vec<Box<RawValue>> = Vec::new();
    for (template, items) in pages {
        let items = match items {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(%template, method = method.as_str(), error = %e, "template left out of the aggregated list");
                continue;
            }
        };
        for item in items {
            let Ok(mut object) = RawObject::parse(&item) else {
                continue;
            };
            let Some(inner) = object
                .get(field)
                .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
            else {
                continue;
            };
            let outer = if is_uri {
                Some(ns.outer_uri(template, &inner))
            } else {
                ns.outer_name(template, &inner)
            };
            let Some(outer) = outer else {
                tracing::warn!(%template, name = %inner, "name too long once prefixed; left out");
                continue;
            };
            if !seen.insert(outer.clone()) {
                tracing::warn!(%template, name = %outer, "duplicate name in the aggregated list; left out");
                continue;
            }
            if outer == inner {
                out.push(item);
            } else {
                object.insert_value(field, &outer);
                out.push(object.to_raw());
            }
        }
    }
    let mut body = String::with_capacity(out.iter().map(|i| i.get().len() + 1).sum::<usize>() + 16);
    body.push_str("{\"");
    body.push_str(key);
    body.push_str("\":[");
    for (i, item) in out.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item.get());
    }
    body.push_str("]}");
    match RawValue::from_string(body) {
        Ok(raw) => Outcome::Result(raw),
        Err(_) => Outcome::Result(to_raw(&serde_json::json!({ key: [] }))),
    }
}
