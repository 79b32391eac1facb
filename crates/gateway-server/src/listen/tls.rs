//! Inbound TLS with rustls (ring provider): ALPN `h2` and `http/1.1`, optional client
//! certificates (mTLS) checked against a CA bundle, and the certificate re-read when its
//! files change. Every [`RELOAD_EVERY`] a task reads the certificate and key files; when
//! their content changed and the new pair is valid it is served to new handshakes at
//! once, otherwise the previous pair stays and a warning names the problem (once per
//! distinct content). A certificate and key written one after the other may be seen
//! half-way: that warns once, and the next check picks up the complete pair.

use std::{
    hash::{DefaultHasher, Hash as _, Hasher as _},
    io,
    path::{Path, PathBuf},
    sync::{Arc, Weak},
    time::Duration,
};

use arc_swap::ArcSwap;
use rustls::{
    RootCertStore, ServerConfig,
    crypto::CryptoProvider,
    server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier},
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// How often the certificate and key files are checked for changes.
pub(super) const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// A TLS file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file holds no usable PEM of the expected kind.
    #[error("{}: {what}", path.display())]
    Pem { path: PathBuf, what: String },
    /// The key does not fit the certificate, or rustls refused it.
    #[error("{} with key {}: {source}", cert.display(), key.display())]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    /// The client CA bundle cannot verify client certificates.
    #[error("client CA {}: {message}", path.display())]
    ClientCa { path: PathBuf, message: String },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[source] rustls::Error),
}

/// Builds the acceptor and starts watching the certificate files.
pub(super) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pair = Pair::read(files)?;
    let key = pair.certified_key(files, &provider)?;
    let resolver = Arc::new(Reloading {
        current: ArcSwap::from_pointee(key),
    });
    let verifier = match &files.client_ca {
        None => WebPkiClientVerifier::no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(path, &read(path)?)? {
                roots.add(cert).map_err(|e| TlsError::ClientCa {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            }
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| TlsError::ClientCa {
                    path: path.clone(),
                    message: e.to_string(),
                })?
        }
    };
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver.clone());
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tracing::info!(
        cert = %files.cert.display(),
        client_certificates = if files.client_ca.is_some() { "required" } else { "not requested" },
        "serving HTTPS"
    );
    spawn_reloader(
        Arc::downgrade(&resolver),
        files.clone(),
        pair.stamp(),
        provider,
    );
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves whatever pair was loaded last.
#[derive(Debug)]
struct Reloading {
    current: ArcSwap<CertifiedKey>,
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// Re-reads the files every [`RELOAD_EVERY`] for as long as the listener lives.
fn spawn_reloader(
    resolver: Weak<Reloading>,
    files: TlsFiles,
    mut served: u64,
    provider: Arc<CryptoProvider>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RELOAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        // The last problem reported, so a bad file warns once, not every few seconds.
        let mut reported: Option<String> = None;
        loop {
            tick.tick().await;
            let Some(resolver) = resolver.upgrade() else {
                return;
            };
            let reading = files.clone();
            // Small files, but still blocking IO: off the async workers.
            let read = tokio::task::spawn_blocking(move || Pair::read(&reading)).await;
            let outcome = match read {
                Ok(Ok(pair)) if pair.stamp() == served => continue,
                Ok(Ok(pair)) => pair
                    .certified_key(&files, &provider)
                    .map(|key| (key, pair.stamp())),
                Ok(Err(e)) => Err(e),
                Err(_) => continue,
            };
            match outcome {
                Ok((key, stamp)) => {
                    resolver.current.store(Arc::new(key));
                    served = stamp;
                    reported = None;
                    tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                }
                Err(e) => {
                    let problem = e.to_string();
                    if reported.as_deref() != Some(problem.as_str()) {
                        tracing::warn!(
                            error = %problem,
                            "the TLS certificate files changed but cannot be used; \
                             still serving the previous certificate"
                        );
                        reported = Some(problem);
                    }
                }
            }
        }
    });
}

/// The certificate and key files' contents.
struct Pair {
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl Pair {
    fn read(files: &TlsFiles) -> Result<Pair, TlsError> {
        Ok(Pair {
            cert: read(&files.cert)?,
            key: read(&files.key)?,
        })
    }

    /// Identifies the content, to notice a change (not a security check: whoever can
    /// write these files owns the certificate anyway).
    fn stamp(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.cert.hash(&mut hasher);
        self.key.hash(&mut hasher);
        hasher.finish()
    }

    fn certified_key(
        &self,
        files: &TlsFiles,
        provider: &CryptoProvider,
    ) -> Result<CertifiedKey, TlsError> {
        let chain = certificates(&files.cert, &self.cert)?;
        let key = PrivateKeyDer::from_pem_slice(&self.key).map_err(|e| TlsError::Pem {
            path: files.key.clone(),
            what: format!("no usable PEM private key ({e})"),
        })?;
        CertifiedKey::from_der(chain, key, provider).map_err(|source| TlsError::Pair {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Every certificate in a PEM file; at least one.
fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |what: String| TlsError::Pem {
        path: path.to_path_buf(),
        what,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("invalid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(bad(
            "no PEM certificate (BEGIN CERTIFICATE) found".to_owned()
        ));
    }
    Ok(certs)
}
