//! A verified token's claims → [`Principal`], per the issuer's [`ClaimMapping`].

use gateway_core::{Role, Scope, Scopes, TemplateAccess};
use serde_json::{Map, Value};

use super::settings::{ClaimMapping, IssuerConfig};
use crate::Principal;

/// Longest accepted user identifier, bytes.
const MAX_SUBJECT: usize = 256;

/// Why verified claims give no principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The user-name claim is missing or unusable.
    NoSubject,
    /// No claim value maps to a role and the issuer has no default role.
    NoRole,
}

/// The principal `claims` stand for.
pub(crate) fn principal(
    issuer: &IssuerConfig,
    claims: &Map<String, Value>,
) -> Result<Principal, Refusal> {
    let mapping = &issuer.claims;
    let subject = match claim(claims, &mapping.username) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(Refusal::NoSubject),
    };
    if subject.is_empty() || subject.len() > MAX_SUBJECT || subject.chars().any(char::is_control) {
        return Err(Refusal::NoSubject);
    }
    let role = role(mapping, claims)
        .or(mapping.default_role)
        .ok_or(Refusal::NoRole)?;
    let scopes = match &mapping.scope {
        None => role.scopes(),
        Some(name) => granted_scopes(mapping, claim(claims, name)).intersect(role.scopes()),
    };
    let templates = match &mapping.templates {
        None => TemplateAccess::All,
        Some(name) => templates(claim(claims, name)),
    };
    Ok(Principal::external(
        &issuer.name,
        &subject,
        role,
        scopes,
        templates,
    ))
}

/// The claim `name`: a top-level claim of that exact name, else a dotted path into
/// nested objects (`realm_access.roles`).
pub(crate) fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// The strings of a claim: a string split on whitespace, or an array's strings.
fn values(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => s.split_whitespace().collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn granted_scopes(mapping: &ClaimMapping, value: Option<&Value>) -> Scopes {
    values(value)
        .into_iter()
        .fold(Scopes::NONE, |acc, v| match &mapping.scope_map {
            Some(map) => map.get(v).map_or(acc, |s| s.iter().fold(acc, Scopes::with)),
            None => v.parse::<Scope>().map_or(acc, |s| acc.with(s)),
        })
}

/// The highest role a value of the role claim maps to.
fn role(mapping: &ClaimMapping, claims: &Map<String, Value>) -> Option<Role> {
    let name = mapping.role.as_deref()?;
    let roles = values(claim(claims, name))
        .into_iter()
        .filter_map(|v| match &mapping.role_map {
            Some(map) => map.get(v).copied(),
            None => v.parse::<Role>().ok(),
        });
    roles.max_by_key(|r| match r {
        Role::Admin => 1,
        Role::User => 0,
    })
}

/// The templates a claim allows: `*` for all; names that are not valid template names
/// are ignored. An absent claim allows none (the issuer was configured to list them).
fn templates(value: Option<&Value>) -> TemplateAccess {
    let names = values(value);
    if names.contains(&"*") {
        return TemplateAccess::All;
    }
    let valid: Vec<&str> = names
        .into_iter()
        .filter(|n| gateway_core::TemplateName::parse(n).is_ok())
        .collect();
    TemplateAccess::parse_list(Some(valid)).unwrap_or(TemplateAccess::Only(Vec::new().into()))
}
