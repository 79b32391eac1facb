//! [`Relay::list_all`]: every item of a list method, all pages drained from the instance
//! that served the first page (cursors are an instance's own), items kept raw.

use gateway_auth::Principal;
use gateway_core::{
    jsonrpc::Outcome,
    mcp::{Method, RawObject},
};
use serde_json::value::RawValue;
use std::sync::Arc;

use super::{Call, Options, Relay, RelayError, Target};
use crate::metrics::Interface;

/// Upper bound on pages drained for one listing (a loop guard against broken cursors).
const MAX_PAGES: usize = 1000;

/// Why a listing failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ListError {
    #[error(transparent)]
    Relay(#[from] RelayError),
    /// The upstream answered a page with this JSON-RPC error (raw).
    #[error("upstream returned a JSON-RPC error")]
    Rpc(Box<RawValue>),
    /// A page is not a list result.
    #[error("{0}")]
    BadPage(BadPage),
}

/// A page that is not `{"<key>": [...], "nextCursor"?: "..."}`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BadPage {
    #[error("list result is not an object: {0}")]
    NotAnObject(serde_json::Error),
    #[error("`{key}` is not an array: {source}")]
    NotAnArray {
        key: &'static str,
        source: serde_json::Error,
    },
}

impl Relay {
    /// Every item of `method` (`key`: `tools`, `prompts`, ...) from `template`, asked
    /// for `caller` on the REST facade.
    pub(crate) async fn list_all(
        &self,
        template: &str,
        method: &Method,
        key: &'static str,
        caller: Option<&Arc<Principal>>,
    ) -> Result<Vec<Box<RawValue>>, ListError> {
        self.list_all_from(Interface::Rest, template, method, key, caller)
            .await
    }

    /// [`Relay::list_all`] for a request that came in on `interface`.
    pub(crate) async fn list_all_from(
        &self,
        interface: Interface,
        template: &str,
        method: &Method,
        key: &'static str,
        caller: Option<&Arc<Principal>>,
    ) -> Result<Vec<Box<RawValue>>, ListError> {
        let options = || Options {
            interface,
            caller: caller.cloned(),
            ..Options::default()
        };
        let call = Call::new(method.clone(), None);
        let first = self
            .call(Target::Template(template), call, options())
            .await?;
        let mut items = Vec::new();
        let mut next = read_page(first.outcome, key, &mut items)?;
        let table = self.routes();
        let route = table
            .get(template)
            .ok_or_else(|| RelayError::TemplateNotFound(template.into()))?;
        let mut pages = 1;
        while let Some(cursor) = next {
            if pages >= MAX_PAGES {
                tracing::warn!(
                    template,
                    method = method.as_str(),
                    pages = MAX_PAGES,
                    "pagination stopped at the page limit"
                );
                break;
            }
            let params = gateway_core::jsonrpc::to_raw(&serde_json::json!({ "cursor": cursor }));
            let call = Call::new(method.clone(), Some(params));
            let page = self
                .call(Target::Instance(route, &first.instance), call, options())
                .await?;
            next = read_page(page.outcome, key, &mut items)?;
            pages += 1;
        }
        Ok(items)
    }
}

/// Appends the page's items (raw) and returns its `nextCursor`.
fn read_page(
    outcome: Outcome,
    key: &'static str,
    items: &mut Vec<Box<RawValue>>,
) -> Result<Option<String>, ListError> {
    let result = match outcome {
        Outcome::Result(result) => result,
        Outcome::Error(error) => return Err(ListError::Rpc(error)),
    };
    let page =
        RawObject::parse(&result).map_err(|e| ListError::BadPage(BadPage::NotAnObject(e)))?;
    if let Some(list) = page.get(key) {
        let mut parsed: Vec<Box<RawValue>> = serde_json::from_str(list.get())
            .map_err(|source| ListError::BadPage(BadPage::NotAnArray { key, source }))?;
        items.append(&mut parsed);
    }
    Ok(page.get("nextCursor").and_then(|c| {
        serde_json::from_str::<Option<String>>(c.get())
            .ok()
            .flatten()
    }))
}
