//! Who may do what: [`Username`], [`Role`], [`Scope`], [`Scopes`] and [`TemplateAccess`].
//!
//! Scopes are the unit of permission; roles are presets of scopes (`admin` = every
//! scope). A caller's effective permissions are the scopes it holds plus the templates it
//! may reach through `/mcp/{template}/...`.

use std::{fmt, str::FromStr, sync::Arc};

use crate::{TemplateName, error::ValidationError};

/// A user's login name: 1–64 bytes of ASCII letters, digits, `_`, `-`, `.` and `@`,
/// starting with a letter or digit. Compared exactly (case-sensitive).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(Arc<str>);

impl Username {
    /// The longest accepted name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Validates `value`.
    ///
    /// ```
    /// use gateway_core::Username;
    /// assert!(Username::parse("alice@example.org").is_ok());
    /// assert!(Username::parse("-x").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let reject = |reason| ValidationError::InvalidName {
            kind: "username",
            value: value.chars().take(80).collect(),
            reason,
        };
        if value.is_empty() {
            return Err(reject("must not be empty"));
        }
        if value.len() > Self::MAX_LEN {
            return Err(reject("is too long (at most 64 bytes)"));
        }
        if !value.as_bytes()[0].is_ascii_alphanumeric() {
            return Err(reject("must start with a letter or digit"));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'))
        {
            return Err(reject(
                "may only contain letters, digits, '_', '-', '.' and '@'",
            ));
        }
        Ok(Self(Arc::from(value)))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// One permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// List tools, resources and prompts (`GET /mcp/{t}/*/list`, template health).
    McpRead,
    /// Call tools, read resources, get prompts.
    McpCall,
    /// Read the registry and statistics.
    GatewayRead,
    /// Register and deregister instances, change template settings.
    GatewayWrite,
    /// Manage users and other users' keys, read the audit log.
    Admin,
}

impl Scope {
    /// Every scope, in documentation order.
    pub const ALL: [Scope; 5] = [
        Scope::McpRead,
        Scope::McpCall,
        Scope::GatewayRead,
        Scope::GatewayWrite,
        Scope::Admin,
    ];

    /// The wire name (`mcp:read`, `mcp:call`, `gateway:read`, `gateway:write`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::McpRead => "mcp:read",
            Scope::McpCall => "mcp:call",
            Scope::GatewayRead => "gateway:read",
            Scope::GatewayWrite => "gateway:write",
            Scope::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| ValidationError::UnknownValue {
                kind: "scope",
                value: s.chars().take(80).collect(),
                expected: "mcp:read, mcp:call, gateway:read, gateway:write, admin",
            })
    }
}

/// A set of [`Scope`]s (a bit set: `Copy`, no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope.
    pub const NONE: Scopes = Scopes(0);

    /// The set holding `scopes`.
    pub fn of(scopes: impl IntoIterator<Item = Scope>) -> Scopes {
        Scopes(scopes.into_iter().fold(0, |bits, s| bits | s.bit()))
    }

    /// Every scope.
    pub fn all() -> Scopes {
        Scopes::of(Scope::ALL)
    }

    /// Parses a list of scope names (duplicates are fine; an unknown name is an error).
    pub fn parse_list<S: AsRef<str>>(
        names: impl IntoIterator<Item = S>,
    ) -> Result<Scopes, ValidationError> {
        let mut scopes = Scopes::NONE;
        for name in names {
            scopes = scopes.with(name.as_ref().parse()?);
        }
        Ok(scopes)
    }

    /// Whether `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The set plus `scope`.
    #[must_use]
    pub fn with(self, scope: Scope) -> Scopes {
        Scopes(self.0 | scope.bit())
    }

    /// The scopes in both sets.
    #[must_use]
    pub fn intersect(self, other: Scopes) -> Scopes {
        Scopes(self.0 & other.0)
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset_of(self, other: Scopes) -> bool {
        self.0 & !other.0 == 0
    }

    /// The first scope of `self` missing from `other`, if any.
    pub fn first_missing_from(self, other: Scopes) -> Option<Scope> {
        self.iter().find(|s| !other.contains(*s))
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes, in documentation order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The wire names, in documentation order.
    pub fn names(self) -> Vec<String> {
        self.iter().map(|s| s.as_str().to_owned()).collect()
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Scope::as_str))
            .finish()
    }
}

impl fmt::Display for Scopes {
    /// Space-separated, as in OAuth 2 `scope` values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

/// A preset of scopes given to users and API keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// Every scope: users, keys, audit log, registry writes.
    Admin,
    /// `mcp:read`, `mcp:call`, `gateway:read`.
    #[default]
    User,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    /// The scopes of this role.
    pub fn scopes(self) -> Scopes {
        match self {
            Role::Admin => Scopes::all(),
            Role::User => Scopes::of([Scope::McpRead, Scope::McpCall, Scope::GatewayRead]),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(ValidationError::UnknownValue {
                kind: "role",
                value: other.chars().take(80).collect(),
                expected: "admin, user",
            }),
        }
    }
}

/// Which templates a user or key may reach through `/mcp/{template}/...`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TemplateAccess {
    /// Every template.
    #[default]
    All,
    /// Only these (sorted, no duplicates).
    Only(Arc<[TemplateName]>),
}

impl TemplateAccess {
    /// `None` means every template; `Some(list)` an allowlist (names validated).
    pub fn parse_list<S: AsRef<str>>(
        names: Option<impl IntoIterator<Item = S>>,
    ) -> Result<TemplateAccess, ValidationError> {
        let Some(names) = names else {
            return Ok(TemplateAccess::All);
        };
        let mut list = names
            .into_iter()
            .map(|n| TemplateName::parse(n.as_ref().trim()))
            .collect::<Result<Vec<_>, _>>()?;
        list.sort();
        list.dedup();
        Ok(TemplateAccess::Only(list.into()))
    }

    /// Whether `template` may be used.
    pub fn allows(&self, template: &str) -> bool {
        match self {
            TemplateAccess::All => true,
            TemplateAccess::Only(list) => list.iter().any(|t| t.as_str() == template),
        }
    }

    /// The templates allowed by both.
    #[must_use]
    pub fn intersect(&self, other: &TemplateAccess) -> TemplateAccess {
        match (self, other) {
            (TemplateAccess::All, x) | (x, TemplateAccess::All) => x.clone(),
            (TemplateAccess::Only(a), TemplateAccess::Only(b)) => TemplateAccess::Only(
                a.iter()
                    .filter(|t| b.contains(t))
                    .cloned()
                    .collect::<Vec<_>>()
                    .into(),
            ),
        }
    }

    /// Whether everything `self` allows, `other` allows too.
    pub fn is_subset_of(&self, other: &TemplateAccess) -> bool {
        match (self, other) {
            (_, TemplateAccess::All) => true,
            (TemplateAccess::All, TemplateAccess::Only(_)) => false,
            (TemplateAccess::Only(a), TemplateAccess::Only(b)) => a.iter().all(|t| b.contains(t)),
        }
    }

    /// The allowlist as names (`None` = every template).
    pub fn names(&self) -> Option<Vec<String>> {
        match self {
            TemplateAccess::All => None,
            TemplateAccess::Only(list) => Some(list.iter().map(ToString::to_string).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_compare() {
        let user = Role::User.scopes();
        assert_eq!(user.to_string(), "mcp:read mcp:call gateway:read");
        assert!(user.is_subset_of(Role::Admin.scopes()));
        assert!(!Role::Admin.scopes().is_subset_of(user));
        assert_eq!(
            Role::Admin.scopes().first_missing_from(user),
            Some(Scope::GatewayWrite)
        );
        let parsed = Scopes::parse_list(["mcp:read", "admin", "mcp:read"]).unwrap();
        assert_eq!(parsed.names(), ["mcp:read", "admin"]);
        let err = Scopes::parse_list(["root"]).unwrap_err();
        assert!(err.to_string().contains("scope"), "{err}");
        assert!(Scopes::NONE.is_subset_of(Scopes::NONE));
    }

    #[test]
    fn roles_parse() {
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert_eq!(" user ".parse::<Role>().unwrap(), Role::User);
        assert!("superuser".parse::<Role>().is_err());
    }

    #[test]
    fn usernames_follow_the_rules() {
        for ok in ["admin", "a.b-c_d@e", "9lives"] {
            Username::parse(ok).unwrap();
        }
        for bad in ["", "_x", "a b", "ü", "a/b", &"x".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn template_access_intersects() {
        let ab = TemplateAccess::parse_list(Some(["b", "a", "a"])).unwrap();
        assert_eq!(ab.names().unwrap(), ["a", "b"]);
        let bc = TemplateAccess::parse_list(Some(["b", "c"])).unwrap();
        let all = TemplateAccess::parse_list(None::<Vec<String>>).unwrap();
        assert_eq!(ab.intersect(&bc).names().unwrap(), ["b"]);
        assert_eq!(ab.intersect(&all), ab);
        assert!(ab.allows("a") && !ab.allows("c") && all.allows("zzz"));
        assert!(ab.is_subset_of(&all) && !all.is_subset_of(&ab) && !ab.is_subset_of(&bc));
        assert!(TemplateAccess::parse_list(Some(["../x"])).is_err());
    }
}
