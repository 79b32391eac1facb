#![allow(clippy::unwrap_used)]

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, PKCS_ECDSA_P256_SHA256,
};

use super::*;

/// A CA and a leaf certificate it signed, as PEM files in a temp dir.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let mut ca = CertificateParams::new(Vec::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let leaf = CertificateParams::new(vec!["client.test".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let other_key = KeyPair::generate().unwrap();
        let files = Files { dir };
        files.write("ca.pem", &ca.pem());
        files.write("client.pem", &leaf.pem());
        files.write("client.key", &leaf_key.serialize_pem());
        files.write("other.key", &other_key.serialize_pem());
        files
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }
}

fn tls(ca: Option<&str>, cert: Option<&str>, key: Option<&str>) -> UpstreamTls {
    UpstreamTls::new(ca, None, cert, key).unwrap()
}

fn failure(tls: &UpstreamTls) -> (&'static str, String) {
    let e = client_config(tls).unwrap_err();
    assert_eq!(e.to_string(), format!("{}: {}", e.field(), e.message()));
    (e.field(), e.message())
}

#[test]
fn loads_a_bundle_and_a_client_identity() {
    let f = Files::new();
    let config = client_config(&tls(
        Some(&f.path("ca.pem")),
        Some(&f.path("client.pem")),
        Some(&f.path("client.key")),
    ))
    .unwrap();
    assert!(config.client_auth_cert_resolver.has_certs());
    let config = client_config(&tls(Some(&f.path("ca.pem")), None, None)).unwrap();
    assert!(!config.client_auth_cert_resolver.has_certs());
}

#[test]
fn a_bad_bundle_names_ca_bundle_and_the_file() {
    let f = Files::new();
    f.write("empty.pem", "");
    f.write("text.pem", "not a certificate\n");
    f.write(
        "cut.pem",
        "-----BEGIN CERTIFICATE-----\nMIIB\n", // no END line
    );
    f.write(
        "junk.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    for (file, reason) in [
        (
            "missing.pem",
            "cannot read the file: No such file or directory (os error 2)",
        ),
        ("empty.pem", "holds no PEM certificate"),
        ("text.pem", "holds no PEM certificate"),
        ("client.key", "holds no PEM certificate"),
        ("cut.pem", "is not valid PEM"),
        (
            "junk.pem",
            "certificate #1 is not a usable X.509 certificate",
        ),
    ] {
        let (field, message) = failure(&tls(Some(&f.path(file)), None, None));
        assert_eq!(field, "upstream_tls.ca_bundle", "{file}");
        assert_eq!(message, format!("{}: {reason}", f.path(file)), "{file}");
    }
    // Directories and devices are refused before reading (a FIFO would block).
    let dir = f.dir.path().to_string_lossy().into_owned();
    assert!(
        failure(&tls(Some(&dir), None, None))
            .1
            .ends_with("is not a regular file")
    );
    assert!(
        failure(&tls(Some("/dev/zero"), None, None))
            .1
            .ends_with("is not a regular file")
    );
    // Bounded size.
    let big = format!(
        "{}\n",
        "#".repeat(usize::try_from(MAX_PEM_BYTES).unwrap() + 1)
    );
    f.write("big.pem", &big);
    assert!(
        failure(&tls(Some(&f.path("big.pem")), None, None))
            .1
            .ends_with("is larger than 1 MiB")
    );
}

#[test]
fn a_bad_client_identity_names_the_file_at_fault_and_never_its_content() {
    let f = Files::new();
    let key_pem = std::fs::read_to_string(f.path("client.key")).unwrap();
    let cases = [
        // A certificate file that holds the key.
        (
            "client.key",
            "client.key",
            "upstream_tls.client_cert",
            "holds no PEM certificate",
        ),
        // A key file that holds a certificate.
        (
            "client.pem",
            "client.pem",
            "upstream_tls.client_key",
            "holds no PEM private key",
        ),
        // Another key than the certificate's.
        (
            "client.pem",
            "other.key",
            "upstream_tls.client_key",
            "does not match the certificate in client_cert",
        ),
        (
            "client.pem",
            "missing.key",
            "upstream_tls.client_key",
            "cannot read the file",
        ),
    ];
    for (cert, key, want_field, reason) in cases {
        let (field, message) = failure(&tls(None, Some(&f.path(cert)), Some(&f.path(key))));
        assert_eq!(field, want_field, "{cert} + {key}");
        assert!(message.contains(reason), "{cert} + {key}: {message}");
        for line in key_pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!message.contains(line), "key material in {message}");
        }
    }
    // A truncated key: the PEM parser's own error would quote the file; ours does not.
    let cut: String = key_pem.lines().take(2).collect::<Vec<_>>().join("\n");
    f.write("cut.key", &cut);
    let (field, message) = failure(&tls(
        None,
        Some(&f.path("client.pem")),
        Some(&f.path("cut.key")),
    ));
    assert_eq!(field, "upstream_tls.client_key");
    assert_eq!(message, format!("{}: is not valid PEM", f.path("cut.key")));
}
