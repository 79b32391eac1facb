//! [`UpstreamAuth`]: which credentials a template's upstreams get on each call (the
//! `upstream_auth` object of its `load_balancer` block).
//!
//! | mode | the upstream gets |
//! |---|---|
//! | `static` (default) | the headers stored with each instance at registration, as they are |
//! | `none` | no credentials: instances may carry no `Authorization` header |
//! | `passthrough` | the client's own access token (discouraged): only a token of a trusted identity provider whose `aud` names `audience` |
//! | `token_exchange` | a token obtained for the client's user at `issuer` (RFC 8693) for `audience`, cached until shortly before it expires |
//!
//! The gateway's own tokens and API keys never reach an upstream, and neither do its
//! own credentials. `passthrough` and `token_exchange` need Streamable HTTP instances:
//! a stdio child or a legacy SSE stream has no per-call header to carry a user's token.
//! Only shapes live here: the server checks the issuer and the instances.

use crate::{InstanceSpec, Transport, error::ValidationError};

/// How a template's upstreams are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UpstreamAuthMode {
    /// No credentials.
    None,
    /// The instance's stored headers (today's behaviour).
    #[default]
    Static,
    /// The client's own identity-provider token.
    Passthrough,
    /// A token exchanged for the client's user (RFC 8693).
    TokenExchange,
}

impl UpstreamAuthMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamAuthMode::None => "none",
            UpstreamAuthMode::Static => "static",
            UpstreamAuthMode::Passthrough => "passthrough",
            UpstreamAuthMode::TokenExchange => "token_exchange",
        }
    }

    /// Whether the gateway sets the `Authorization` header per call, from the caller.
    pub fn is_per_user(self) -> bool {
        matches!(
            self,
            UpstreamAuthMode::Passthrough | UpstreamAuthMode::TokenExchange
        )
    }
}

/// A template's upstream authentication. Construct with [`UpstreamAuth::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UpstreamAuth {
    mode: UpstreamAuthMode,
    audience: Option<String>,
    issuer: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
}

impl UpstreamAuth {
    /// Longest accepted value, bytes.
    pub const MAX_VALUE_LEN: usize = 2048;

    /// Field names, as the API and the configuration file spell them.
    pub const FIELD_MODE: &'static str = "upstream_auth.mode";
    /// See [`UpstreamAuth::FIELD_MODE`].
    pub const FIELD_AUDIENCE: &'static str = "upstream_auth.audience";
    /// See [`UpstreamAuth::FIELD_MODE`].
    pub const FIELD_ISSUER: &'static str = "upstream_auth.issuer";
    /// See [`UpstreamAuth::FIELD_MODE`].
    pub const FIELD_RESOURCE: &'static str = "upstream_auth.resource";
    /// See [`UpstreamAuth::FIELD_MODE`].
    pub const FIELD_SCOPE: &'static str = "upstream_auth.scope";

    /// Validates the shape; the error names the field. `passthrough` needs `audience`
    /// (what the upstream accepts in `aud`); `token_exchange` needs `issuer` (the short
    /// name of a configured issuer) and `audience`, and may add `resource` (RFC 8707)
    /// and `scope`. Other modes take no other field.
    pub fn new(
        mode: &str,
        audience: Option<&str>,
        issuer: Option<&str>,
        resource: Option<&str>,
        scope: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let mode = match mode {
            "none" => UpstreamAuthMode::None,
            "static" => UpstreamAuthMode::Static,
            "passthrough" => UpstreamAuthMode::Passthrough,
            "token_exchange" => UpstreamAuthMode::TokenExchange,
            _ => {
                return Err(ValidationError::InvalidSetting {
                    field: Self::FIELD_MODE,
                    reason: "must be none, static, passthrough or token_exchange",
                });
            }
        };
        let audience = value(Self::FIELD_AUDIENCE, audience)?;
        let issuer = value(Self::FIELD_ISSUER, issuer)?;
        let resource = value(Self::FIELD_RESOURCE, resource)?;
        let scope = value(Self::FIELD_SCOPE, scope)?;
        let unexpected = |field| ValidationError::InvalidSetting {
            field,
            reason: "is not used by this mode",
        };
        let required = |field| ValidationError::InvalidSetting {
            field,
            reason: "is required by this mode",
        };
        match mode {
            UpstreamAuthMode::None | UpstreamAuthMode::Static => {
                for (field, v) in [
                    (Self::FIELD_AUDIENCE, &audience),
                    (Self::FIELD_ISSUER, &issuer),
                    (Self::FIELD_RESOURCE, &resource),
                    (Self::FIELD_SCOPE, &scope),
                ] {
                    if v.is_some() {
                        return Err(unexpected(field));
                    }
                }
            }
            UpstreamAuthMode::Passthrough => {
                if audience.is_none() {
                    return Err(ValidationError::InvalidSetting {
                        field: Self::FIELD_AUDIENCE,
                        reason: "is required for passthrough: the `aud` value the upstream \
                                 accepts (the client's token must carry it)",
                    });
                }
                for (field, v) in [
                    (Self::FIELD_ISSUER, &issuer),
                    (Self::FIELD_RESOURCE, &resource),
                    (Self::FIELD_SCOPE, &scope),
                ] {
                    if v.is_some() {
                        return Err(unexpected(field));
                    }
                }
            }
            UpstreamAuthMode::TokenExchange => {
                if issuer.is_none() {
                    return Err(required(Self::FIELD_ISSUER));
                }
                if audience.is_none() {
                    return Err(required(Self::FIELD_AUDIENCE));
                }
            }
        }
        Ok(Self {
            mode,
            audience,
            issuer,
            resource,
            scope,
        })
    }

    /// The mode.
    pub fn mode(&self) -> UpstreamAuthMode {
        self.mode
    }

    /// The audience the upstream accepts (`passthrough`, `token_exchange`).
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The configured issuer's short name (`token_exchange`).
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The RFC 8707 `resource` asked for (`token_exchange`).
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The `scope` asked for (`token_exchange`).
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Whether these settings are the default (`static`).
    pub fn is_default(&self) -> bool {
        self.mode == UpstreamAuthMode::Static
    }

    /// Whether an instance reached by `spec` fits this mode; the error is the field of
    /// the instance at fault (`transport` or `headers`) and why.
    pub fn check_instance(&self, spec: &InstanceSpec) -> Result<(), (&'static str, &'static str)> {
        if self.mode.is_per_user() && spec.transport() != Transport::Http {
            return Err((
                "transport",
                "the template's upstream_auth (passthrough or token_exchange) needs \
                 Streamable HTTP instances: stdio and legacy SSE upstreams cannot carry a \
                 per-user token",
            ));
        }
        let stores_authorization = match spec {
            InstanceSpec::Http { headers, .. } | InstanceSpec::Sse { headers, .. } => {
                headers.iter().any(|(name, _)| is_credential_header(name))
            }
            InstanceSpec::Stdio(_) => false,
        };
        if self.mode != UpstreamAuthMode::Static && stores_authorization {
            return Err((
                "headers",
                "an Authorization header is stored only with upstream_auth static; with \
                 none, passthrough or token_exchange the gateway decides what the \
                 upstream gets",
            ));
        }
        Ok(())
    }
}

/// `Authorization` and `Proxy-Authorization`, in any case.
fn is_credential_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("proxy-authorization")
}

fn value(field: &'static str, v: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(v) = v else { return Ok(None) };
    let reason = if v.is_empty() {
        Some("must not be empty")
    } else if v.len() > UpstreamAuth::MAX_VALUE_LEN {
        Some("is longer than 2048 bytes")
    } else if v.chars().any(|c| !(c.is_ascii_graphic() || c == ' ')) {
        Some("must be visible ASCII")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ValidationError::InvalidSetting { field, reason }),
        None => Ok(Some(v.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EndpointUrl, Headers, StdioCommand};

    fn field_of(e: ValidationError) -> &'static str {
        match e {
            ValidationError::InvalidSetting { field, .. } => field,
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn modes_and_their_fields() {
        assert!(UpstreamAuth::default().is_default());
        let none = UpstreamAuth::new("none", None, None, None, None).unwrap();
        assert_eq!(none.mode(), UpstreamAuthMode::None);
        let pass = UpstreamAuth::new("passthrough", Some("https://up"), None, None, None).unwrap();
        assert_eq!(pass.audience(), Some("https://up"));
        let tx = UpstreamAuth::new(
            "token_exchange",
            Some("up"),
            Some("corp"),
            None,
            Some("a b"),
        )
        .unwrap();
        assert_eq!((tx.issuer(), tx.scope()), (Some("corp"), Some("a b")));

        for (args, field) in [
            (("bogus", None, None), UpstreamAuth::FIELD_MODE),
            (("passthrough", None, None), UpstreamAuth::FIELD_AUDIENCE),
            (
                ("passthrough", Some("a"), Some("corp")),
                UpstreamAuth::FIELD_ISSUER,
            ),
            (
                ("token_exchange", Some("a"), None),
                UpstreamAuth::FIELD_ISSUER,
            ),
            (
                ("token_exchange", None, Some("corp")),
                UpstreamAuth::FIELD_AUDIENCE,
            ),
            (("static", Some("a"), None), UpstreamAuth::FIELD_AUDIENCE),
            (("none", None, Some("corp")), UpstreamAuth::FIELD_ISSUER),
            (
                ("passthrough", Some(""), None),
                UpstreamAuth::FIELD_AUDIENCE,
            ),
            (
                ("passthrough", Some("a\nb"), None),
                UpstreamAuth::FIELD_AUDIENCE,
            ),
        ] {
            let (mode, audience, issuer) = args;
            let e = UpstreamAuth::new(mode, audience, issuer, None, None).unwrap_err();
            assert_eq!(field_of(e), field, "{args:?}");
        }
    }

    #[test]
    fn instances_must_fit_the_mode() {
        let url = EndpointUrl::parse("http://127.0.0.1:1/mcp").unwrap();
        let plain = InstanceSpec::Http {
            url: url.clone(),
            headers: Headers::default(),
        };
        let with_auth = InstanceSpec::Http {
            url: url.clone(),
            headers: Headers::new([("Authorization".to_owned(), "Bearer x".to_owned())]).unwrap(),
        };
        let sse = InstanceSpec::Sse {
            url,
            headers: Headers::default(),
        };
        let stdio = InstanceSpec::Stdio(
            StdioCommand::new("x", Vec::new(), Default::default(), None).unwrap(),
        );
        let tx = UpstreamAuth::new("token_exchange", Some("up"), Some("corp"), None, None).unwrap();
        let none = UpstreamAuth::new("none", None, None, None, None).unwrap();
        let fixed = UpstreamAuth::default();
        assert!(tx.check_instance(&plain).is_ok());
        assert_eq!(tx.check_instance(&stdio).unwrap_err().0, "transport");
        assert_eq!(tx.check_instance(&sse).unwrap_err().0, "transport");
        assert_eq!(tx.check_instance(&with_auth).unwrap_err().0, "headers");
        assert_eq!(none.check_instance(&with_auth).unwrap_err().0, "headers");
        assert!(none.check_instance(&stdio).is_ok());
        assert!(fixed.check_instance(&with_auth).is_ok());
    }
}
