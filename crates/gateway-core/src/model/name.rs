//! Validated names: [`TemplateName`] and [`InstanceId`].

use std::{fmt, sync::Arc};

use crate::error::ValidationError;

/// Checks the shared naming rule: ASCII letters, digits, `_`, `-`, `.`; starts with a
/// letter or digit; `1..=max` bytes. The rule keeps names valid in URL paths, log
/// fields and MCP tool-name prefixes (`[A-Za-z0-9_.-]`).
fn validate(kind: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    let reject = |reason| ValidationError::InvalidName {
        kind,
        value: value.chars().take(200).collect(),
        reason,
    };
    if value.is_empty() {
        return Err(reject("must not be empty"));
    }
    if value.len() > max {
        return Err(reject("is too long"));
    }
    if !value.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(reject("must start with a letter or digit"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(reject("may only contain letters, digits, '_', '-' and '.'"));
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// The longest accepted value, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Validates `value` and wraps it.
            pub fn parse(value: &str) -> Result<Self, ValidationError> {
                validate($kind, value, $max)?;
                Ok(Self(Arc::from(value)))
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// The name of a template: a logical MCP server that one or more instances serve.
    ///
    /// ```
    /// use gateway_core::TemplateName;
    /// assert!(TemplateName::parse("filesystem").is_ok());
    /// assert!(TemplateName::parse("../etc").is_err());
    /// ```
    TemplateName,
    "template name",
    64
);

name_type!(
    /// The id of one instance of a template, unique within the gateway.
    InstanceId,
    "instance id",
    128
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for ok in ["a", "fs-1", "time_v2.1", "A9"] {
            assert_eq!(TemplateName::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_invalid_names() {
        for bad in ["", "-x", ".hidden", "a/b", "a b", "ü", &"x".repeat(65)] {
            assert!(TemplateName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(InstanceId::parse(&"x".repeat(128)).is_ok());
        assert!(InstanceId::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn deserialize_validates() {
        assert!(serde_json::from_str::<TemplateName>("\"ok\"").is_ok());
        let err = serde_json::from_str::<TemplateName>("\"a/b\"").unwrap_err();
        assert!(err.to_string().contains("template name"), "{err}");
    }
}
