//! [`Audience`]: who reads a `/gateway/*` answer, and so what it may show.
//!
//! - Templates: a principal sees only the templates its allowlist lets it use (the
//!   others are absent from the registry, the template list and the statistics, and
//!   their routes answer 403 `template_forbidden`, see `auth::policy`).
//! - Access details: endpoint query strings and user info, command arguments and
//!   working directories are shown only to principals with the `admin` scope; others
//!   get [`InstanceInfo::without_access_details`].
//! - Gateway-wide request counters: a principal limited to some templates gets them
//!   summed over those templates' instances, not over the whole gateway.
//!
//! With authentication off (loopback only, the local operator) there is no principal
//! and everything is shown.

use std::sync::Arc;

use axum::{extract::FromRequestParts, http::request::Parts};
use gateway_auth::Principal;
use gateway_core::{Instance, Scope, TemplateAccess, api::InstanceInfo};

use crate::auth::Caller;

/// The reader of an answer (`None`: authentication is off).
#[derive(Clone, Default)]
pub(crate) struct Audience(Option<Arc<Principal>>);

impl Audience {
    /// The reader behind `caller`.
    pub(crate) fn of(caller: Option<&Caller>) -> Audience {
        Audience(caller.map(|Caller(p)| p.clone()))
    }

    /// Whether `template` appears in answers to this reader.
    pub(crate) fn sees_template(&self, template: &str) -> bool {
        self.0.as_ref().is_none_or(|p| p.allows_template(template))
    }

    /// Whether this reader may use only some templates.
    pub(crate) fn is_limited(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|p| *p.templates() != TemplateAccess::All)
    }

    /// Whether this reader sees how instances are reached (full endpoints, commands).
    pub(crate) fn sees_access_details(&self) -> bool {
        self.0.as_ref().is_none_or(|p| p.has(Scope::Admin))
    }

    /// The API view of `instance` for this reader.
    pub(crate) fn instance(&self, instance: &Instance, status: &str) -> InstanceInfo {
        let info = InstanceInfo::new(instance, status);
        if self.sees_access_details() {
            info
        } else {
            info.without_access_details()
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Audience {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Audience(
            parts.extensions.get::<Caller>().map(|Caller(p)| p.clone()),
        ))
    }
}
