//! [`UpstreamTls`]: which certificate authorities a template's HTTPS upstreams are
//! verified against, and which client certificate the gateway presents to them (mTLS).
//!
//! Only file paths live here (core does no I/O): `gateway-transport` reads and checks the
//! files when it builds a template's TLS client.

use std::path::{Path, PathBuf};

use crate::error::ValidationError;

/// A template's upstream TLS settings (the `upstream_tls` object of its `load_balancer`
/// block). Construct with [`UpstreamTls::new`].
///
/// | `ca_bundle` | `system_roots` | upstream certificates are verified against |
/// |---|---|---|
/// | absent | `true` (the only value allowed) | the system's root certificates (as without settings) |
/// | set | `false` (default) | the bundle only: a private CA, nothing else |
/// | set | `true` | the bundle and the system's roots |
///
/// `client_cert` and `client_key` come together: the gateway presents that certificate
/// chain to upstreams that ask for one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpstreamTls {
    ca_bundle: Option<PathBuf>,
    system_roots: bool,
    client_identity: Option<ClientIdentity>,
}

/// A client certificate chain and its private key, as PEM file paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientIdentity {
    cert: PathBuf,
    key: PathBuf,
}

impl ClientIdentity {
    /// PEM file with the certificate chain, leaf first.
    pub fn cert(&self) -> &Path {
        &self.cert
    }

    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub fn key(&self) -> &Path {
        &self.key
    }
}

impl UpstreamTls {
    /// Longest accepted path, bytes (Linux's `PATH_MAX`).
    pub const MAX_PATH_LEN: usize = 4096;

    /// Field names, as the API and the configuration file spell them.
    pub const FIELD_CA_BUNDLE: &'static str = "upstream_tls.ca_bundle";
    /// See [`UpstreamTls::FIELD_CA_BUNDLE`].
    pub const FIELD_SYSTEM_ROOTS: &'static str = "upstream_tls.system_roots";
    /// See [`UpstreamTls::FIELD_CA_BUNDLE`].
    pub const FIELD_CLIENT_CERT: &'static str = "upstream_tls.client_cert";
    /// See [`UpstreamTls::FIELD_CA_BUNDLE`].
    pub const FIELD_CLIENT_KEY: &'static str = "upstream_tls.client_key";

    /// Validates the shape of the settings; the error names the field. Paths must be
    /// absolute (the gateway's working directory is no stable base). `system_roots`
    /// defaults to `false` with a bundle and `true` without one; `false` without a
    /// bundle would trust nothing and is refused.
    pub fn new(
        ca_bundle: Option<&str>,
        system_roots: Option<bool>,
        client_cert: Option<&str>,
        client_key: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let ca_bundle = ca_bundle
            .map(|p| path(Self::FIELD_CA_BUNDLE, p))
            .transpose()?;
        let system_roots = match (system_roots, &ca_bundle) {
            (Some(false), None) => {
                return Err(ValidationError::InvalidSetting {
                    field: Self::FIELD_SYSTEM_ROOTS,
                    reason: "may be false only with a ca_bundle (nothing would be trusted)",
                });
            }
            (Some(v), _) => v,
            (None, bundle) => bundle.is_none(),
        };
        let client_identity = match (client_cert, client_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(ClientIdentity {
                cert: path(Self::FIELD_CLIENT_CERT, cert)?,
                key: path(Self::FIELD_CLIENT_KEY, key)?,
            }),
            (Some(_), None) => {
                return Err(ValidationError::InvalidSetting {
                    field: Self::FIELD_CLIENT_KEY,
                    reason: "is required with client_cert",
                });
            }
            (None, Some(_)) => {
                return Err(ValidationError::InvalidSetting {
                    field: Self::FIELD_CLIENT_CERT,
                    reason: "is required with client_key",
                });
            }
        };
        Ok(Self {
            ca_bundle,
            system_roots,
            client_identity,
        })
    }

    /// PEM file of extra trusted certificate authorities.
    pub fn ca_bundle(&self) -> Option<&Path> {
        self.ca_bundle.as_deref()
    }

    /// Whether the system's root certificates are trusted too.
    pub fn system_roots(&self) -> bool {
        self.system_roots
    }

    /// The client certificate presented to upstreams, if any.
    pub fn client_identity(&self) -> Option<&ClientIdentity> {
        self.client_identity.as_ref()
    }

    /// Whether these settings change nothing (system roots, no client certificate).
    pub fn is_default(&self) -> bool {
        self.ca_bundle.is_none() && self.client_identity.is_none()
    }
}

fn path(field: &'static str, value: &str) -> Result<PathBuf, ValidationError> {
    let reason = if value.is_empty() {
        Some("must not be empty")
    } else if value.len() > UpstreamTls::MAX_PATH_LEN {
        Some("is longer than 4096 bytes")
    } else if value.contains('\0') {
        Some("must not contain NUL")
    } else if !Path::new(value).is_absolute() {
        Some("must be an absolute path")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ValidationError::InvalidSetting { field, reason }),
        None => Ok(PathBuf::from(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: ValidationError) -> &'static str {
        match e {
            ValidationError::InvalidSetting { field, .. } => field,
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn system_roots_default_depends_on_the_bundle() {
        let bundle = UpstreamTls::new(Some("/etc/ca.pem"), None, None, None).unwrap();
        assert_eq!(bundle.ca_bundle(), Some(Path::new("/etc/ca.pem")));
        assert!(!bundle.system_roots(), "a bundle replaces the system roots");
        assert!(!bundle.is_default());
        let both = UpstreamTls::new(Some("/etc/ca.pem"), Some(true), None, None).unwrap();
        assert!(both.system_roots());
        let none = UpstreamTls::new(None, None, None, None).unwrap();
        assert!(none.system_roots() && none.is_default());
        assert_eq!(
            field_of(UpstreamTls::new(None, Some(false), None, None).unwrap_err()),
            "upstream_tls.system_roots"
        );
    }

    #[test]
    fn client_cert_and_key_come_together() {
        let id = UpstreamTls::new(None, None, Some("/c.pem"), Some("/k.pem")).unwrap();
        let identity = id.client_identity().unwrap();
        assert_eq!(
            (identity.cert(), identity.key()),
            (Path::new("/c.pem"), Path::new("/k.pem"))
        );
        assert!(id.system_roots() && !id.is_default());
        assert_eq!(
            field_of(UpstreamTls::new(None, None, Some("/c.pem"), None).unwrap_err()),
            "upstream_tls.client_key"
        );
        assert_eq!(
            field_of(UpstreamTls::new(None, None, None, Some("/k.pem")).unwrap_err()),
            "upstream_tls.client_cert"
        );
    }

    #[test]
    fn paths_must_be_absolute_and_sane() {
        let long = format!("/{}", "a".repeat(UpstreamTls::MAX_PATH_LEN));
        for bad in ["", "ca.pem", "./ca.pem", "/etc/\0ca.pem", long.as_str()] {
            let e = UpstreamTls::new(Some(bad), None, None, None).unwrap_err();
            assert!(e.to_string().starts_with("upstream_tls.ca_bundle "), "{e}");
            assert_eq!(
                field_of(UpstreamTls::new(None, None, Some(bad), Some("/k")).unwrap_err()),
                "upstream_tls.client_cert"
            );
            assert_eq!(
                field_of(UpstreamTls::new(None, None, Some("/c"), Some(bad)).unwrap_err()),
                "upstream_tls.client_key"
            );
        }
    }
}
