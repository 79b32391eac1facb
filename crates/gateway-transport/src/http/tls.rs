//! Builds the rustls client configuration of a template's HTTPS upstreams from its
//! [`UpstreamTls`] settings: which CAs to trust, which client certificate to present.
//!
//! Files are read once per build (the registry builds again whenever the settings are
//! set). Errors name the setting and the file, never the file's content: a key file's
//! bytes must not reach a log line or an API answer.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use gateway_core::UpstreamTls;
use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};

/// Largest PEM file read (a bundle of every public root is about 250 KiB).
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Why a template's upstream TLS settings cannot be used: a file is missing,
/// unreadable or not what the setting expects. `Display` names the setting and the
/// file (never its content).
///
/// A configuration-time error, unlike [`crate::Error`] which reports failed calls to
/// one instance.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {}", self.message())]
pub struct TlsConfigError {
    field: &'static str,
    path: PathBuf,
    problem: Problem,
}

#[derive(Debug, thiserror::Error)]
enum Problem {
    #[error("cannot read the file: {0}")]
    Read(#[source] std::io::Error),
    #[error("is not a regular file")]
    NotAFile,
    #[error("is larger than 1 MiB")]
    TooLarge,
    #[error("holds no PEM certificate")]
    NoCertificate,
    #[error("is not valid PEM")]
    BadPem,
    #[error("certificate #{0} is not a usable X.509 certificate")]
    BadCertificate(usize),
    #[error("holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoKey,
    #[error("is not a supported private key (RSA, ECDSA P-256/P-384 or Ed25519)")]
    UnsupportedKey,
    #[error("does not match the certificate in client_cert")]
    KeyMismatch,
}

impl TlsConfigError {
    /// The setting at fault, e.g. `upstream_tls.ca_bundle`.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What is wrong, naming the file (without the field name).
    pub fn message(&self) -> String {
        format!("{}: {}", self.path.display(), self.problem)
    }
}

/// Reads and checks the files of `tls` as a connector would (e.g. when a configuration
/// file is loaded), without building a client.
pub fn check_upstream_tls(tls: &UpstreamTls) -> Result<(), TlsConfigError> {
    client_config(tls).map(drop)
}

/// The client configuration `tls` describes. ALPN is set by the connector builder.
pub(crate) fn client_config(tls: &UpstreamTls) -> Result<ClientConfig, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    if tls.system_roots() {
        add_system_roots(&mut roots);
    }
    if let Some(path) = tls.ca_bundle() {
        add_bundle(&mut roots, path)?;
    }
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let Some(identity) = tls.client_identity() else {
        return Ok(builder.with_no_client_auth());
    };
    let chain = certificates(UpstreamTls::FIELD_CLIENT_CERT, identity.cert())?;
    let key = private_key(identity.key())?;
    builder.with_client_auth_cert(chain, key).map_err(|e| {
        let (field, problem) = match e {
            rustls::Error::InconsistentKeys(_) => {
                (UpstreamTls::FIELD_CLIENT_KEY, Problem::KeyMismatch)
            }
            rustls::Error::InvalidCertificate(_) => {
                (UpstreamTls::FIELD_CLIENT_CERT, Problem::BadCertificate(1))
            }
            _ => (UpstreamTls::FIELD_CLIENT_KEY, Problem::UnsupportedKey),
        };
        let path = match field {
            UpstreamTls::FIELD_CLIENT_CERT => identity.cert(),
            _ => identity.key(),
        };
        error(field, path, problem)
    })
}

/// A configuration that trusts no certificate authority: every HTTPS handshake fails.
/// For templates whose TLS files could not be loaded, so they fail closed rather than
/// fall back to weaker settings.
pub(crate) fn refusing_config() -> ClientConfig {
    ClientConfig::builder()
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth()
}

fn add_system_roots(roots: &mut RootCertStore) {
    let native = rustls_native_certs::load_native_certs();
    if !native.errors.is_empty() {
        tracing::warn!(
            errors = native.errors.len(),
            "some system root certificates could not be loaded"
        );
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        tracing::warn!(
            ignored,
            "no system root certificates; only a template's ca_bundle is trusted"
        );
    }
}

fn add_bundle(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsConfigError> {
    let field = UpstreamTls::FIELD_CA_BUNDLE;
    for (i, cert) in certificates(field, path)?.into_iter().enumerate() {
        roots
            .add(cert)
            .map_err(|_| error(field, path, Problem::BadCertificate(i + 1)))?;
    }
    Ok(())
}

/// Every certificate in the PEM file at `path` (at least one).
fn certificates(
    field: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let pem = read(field, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| error(field, path, Problem::BadPem))?;
    if certs.is_empty() {
        return Err(error(field, path, Problem::NoCertificate));
    }
    Ok(certs)
}

/// The first private key in the PEM file at `path`.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    let field = UpstreamTls::FIELD_CLIENT_KEY;
    let pem = read(field, path)?;
    // The PEM error would quote a line of the file: report a fixed reason instead.
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => error(field, path, Problem::NoKey),
        _ => error(field, path, Problem::BadPem),
    })
}

fn read(field: &'static str, path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    // A FIFO or device would block the read or never end: regular files only.
    let meta = std::fs::metadata(path).map_err(|e| error(field, path, Problem::Read(e)))?;
    if !meta.is_file() {
        return Err(error(field, path, Problem::NotAFile));
    }
    let file = std::fs::File::open(path).map_err(|e| error(field, path, Problem::Read(e)))?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(field, path, Problem::Read(e)))?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(error(field, path, Problem::TooLarge));
    }
    Ok(bytes)
}

fn error(field: &'static str, path: &Path, problem: Problem) -> TlsConfigError {
    TlsConfigError {
        field,
        path: path.to_path_buf(),
        problem,
    }
}

#[cfg(test)]
mod tests;
