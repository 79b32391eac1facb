//! Inbound TLS ("Also: TLS" of issue 11) against the real binary, with certificates made
//! by the test (rcgen): HTTPS with curl, the official Python MCP client, our CLI and
//! HTTP/2 over ALPN; a certificate swapped on disk is served without a restart (and a
//! broken one is not); client certificates (mTLS) are required when a client CA is set;
//! unusable TLS settings stop the start naming the file or key; and a public bind with
//! authentication but without TLS warns that credentials travel in clear text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, time::Duration};

use gateway_e2e::{
    EchoHttp, TestGateway,
    auth::{AuthGateway, AuthGatewayBuilder},
    init_tracing, install_crypto_provider, repo_root, run, venv_python, wait_until,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const MCPP: &str = env!("CARGO_BIN_EXE_mcpp-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// Bounds waits for something the gateway must do (the reload check runs every 5 s).
const GUARD: Duration = Duration::from_secs(30);

/// A certificate authority made for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM, plus the certificate's DER.
struct Leaf {
    cert_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn leaf(&self, name: &str, usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    fn server(&self, name: &str) -> Leaf {
        self.leaf(name, ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn client(&self, name: &str) -> Leaf {
        self.leaf(name, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// A directory holding the PEM files a gateway is started with.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(ca: &Ca, server: &Leaf) -> Files {
        let files = Files {
            dir: tempfile::Builder::new()
                .prefix("gw-tls-")
                .tempdir()
                .unwrap(),
        };
        std::fs::write(files.ca(), ca.pem()).unwrap();
        files.install(server);
        files
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    fn cert(&self) -> PathBuf {
        self.path("server.pem")
    }

    fn key(&self) -> PathBuf {
        self.path("server.key")
    }

    /// Puts `leaf` in place the way rotation tools do: key, then certificate, each
    /// written to a temporary name and renamed over the old one.
    fn install(&self, leaf: &Leaf) {
        for (path, text) in [(self.key(), &leaf.key_pem), (self.cert(), &leaf.cert_pem)] {
            let temp = path.with_extension("tmp");
            std::fs::write(&temp, text).unwrap();
            std::fs::rename(&temp, &path).unwrap();
        }
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--tls-cert".to_owned(),
            self.cert().display().to_string(),
            "--tls-key".to_owned(),
            self.key().display().to_string(),
        ]
    }
}

/// A client trusting only `ca` (and presenting `identity`, if any).
fn client(ca: &Ca, identity: Option<&Leaf>) -> reqwest::Client {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap()])
        .tls_info(true)
        .timeout(Duration::from_secs(30));
    if let Some(leaf) = identity {
        let pem = format!("{}{}", leaf.cert_pem, leaf.key_pem);
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

/// The DER of the certificate the gateway serves now (to a new client: a new
/// connection, as an HTTP/2 one would be kept and reused).
async fn served_certificate(ca: &Ca, base: &str) -> Vec<u8> {
    let response = client(ca, None)
        .get(format!("{base}/gateway/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("the peer certificate")
        .to_vec()
}

fn builder_with(args: &[String]) -> AuthGatewayBuilder {
    let mut builder = AuthGateway::builder(GATEWAY).bare();
    for arg in args {
        builder = builder.arg(arg.clone());
    }
    builder
}

#[tokio::test]
async fn tls_https_serves_curl_the_python_client_the_cli_and_http2() {
    init_tracing();
    let ca = Ca::new("e2e CA");
    let files = Files::new(&ca, &ca.server("gateway"));
    let gw = TestGateway::builder(GATEWAY)
        .args(files.args())
        .start()
        .await;
    assert_eq!(gw.scheme, "https", "the banner says https");
    let base = gw.base_url();
    let https = client(&ca, None);

    // HTTP/2 by ALPN, and HTTP/1.1 for a client that only speaks that.
    let response = https
        .get(format!("{base}/gateway/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let h1 = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap()])
        .http1_only()
        .build()
        .unwrap();
    let response = h1
        .get(format!("{base}/gateway/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.status(), 200);
    // Plain HTTP to the TLS port gets no answer.
    let plain = reqwest::get(format!("http://127.0.0.1:{}/gateway/health", gw.port())).await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);

    let echo = EchoHttp::spawn(ECHO, 0, "tls-echo").await;
    let registered = https
        .post(format!("{base}/gateway/register"))
        .json(&json!({"template_name": "echo", "endpoint": echo.url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);

    // curl, trusting the test CA.
    let ca_path = files.ca().display().to_string();
    let out = run(
        "curl",
        [
            "-sS",
            "--fail",
            "--cacert",
            &ca_path,
            &format!("{base}/gateway/health"),
        ],
        &[],
        GUARD,
    )
    .await;
    let health: Value = serde_json::from_str(out.expect_success()).unwrap();
    assert!(health["status"].is_string(), "{health}");
    let out = run(
        "curl",
        ["-sS", &format!("{base}/gateway/health")],
        &[],
        GUARD,
    )
    .await;
    assert_ne!(out.code, Some(0), "curl without the CA must refuse");

    // The CLI, with and without the CA bundle.
    let cli = |extra: &'static [&'static str]| {
        let base = base.clone();
        let ca_path = ca_path.clone();
        async move {
            let mut args = vec!["gateway", "status", "--json", "--gateway-url", &base];
            if !extra.is_empty() {
                args.extend_from_slice(&["--ca-bundle", &ca_path]);
            }
            run(MCPP, &args, &[], GUARD).await
        }
    };
    let out = cli(&["ca"]).await;
    let status: Value = serde_json::from_str(out.expect_success()).unwrap();
    assert_eq!(status["registry"]["total_instances"], 1, "{status}");
    let out = cli(&[]).await;
    assert_ne!(
        out.code,
        Some(0),
        "the CLI without the CA bundle must refuse"
    );

    // The official Python MCP client (httpx honours SSL_CERT_FILE).
    let Some(python) = venv_python() else {
        return;
    };
    let script = repo_root().join("tests/python/mcp_smoke.py");
    let out = run(
        &python,
        [
            script.display().to_string(),
            "http".to_owned(),
            format!("{base}/mcp/echo"),
            "echo".to_owned(),
            r#"{"message":"over tls"}"#.to_owned(),
        ],
        &[
            ("PYTHONDONTWRITEBYTECODE", "1"),
            ("SSL_CERT_FILE", ca_path.as_str()),
        ],
        Duration::from_secs(60),
    )
    .await;
    let stdout = out.expect_success();
    let r: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("driver output is not JSON ({e}): {stdout}\n{}", out.stderr));
    assert_eq!(r["content"][0], "over tls", "{r}");
    assert_eq!(r["is_error"], false, "{r}");
}

#[tokio::test]
async fn tls_a_certificate_swapped_on_disk_is_served_without_a_restart() {
    init_tracing();
    let ca = Ca::new("e2e CA");
    let first = ca.server("first");
    let files = Files::new(&ca, &first);
    let gw = builder_with(&files.args()).start().await;
    let base = gw.base_url();
    assert_eq!(served_certificate(&ca, &base).await, first.der);

    // A broken certificate file: the gateway keeps serving the first one, and says so.
    std::fs::write(files.cert(), "-----BEGIN CERTIFICATE-----\nbroken\n").unwrap();
    let gw_ref = &gw;
    wait_until(
        "the warning about the unusable file",
        GUARD,
        || async move { gw_ref.stderr().contains("cannot be used") },
    )
    .await;
    assert!(gw.stderr().contains("server.pem"), "{}", gw.stderr());
    assert_eq!(served_certificate(&ca, &base).await, first.der);

    // A new valid pair: served to new connections, no restart.
    let second = ca.server("second");
    files.install(&second);
    let (ca, base, der) = (&ca, base.as_str(), second.der.as_slice());
    wait_until("the new certificate to be served", GUARD, || async move {
        served_certificate(ca, base).await == der
    })
    .await;
    assert!(gw.stderr().contains("TLS certificate reloaded"));
}

#[tokio::test]
async fn tls_client_certificates_are_required_with_a_client_ca() {
    init_tracing();
    let ca = Ca::new("server CA");
    let clients = Ca::new("client CA");
    let stranger = Ca::new("another CA");
    let files = Files::new(&ca, &ca.server("gateway"));
    let client_ca = files.path("clients.pem");
    std::fs::write(&client_ca, clients.pem()).unwrap();
    let mut args = files.args();
    args.extend([
        "--tls-client-ca".to_owned(),
        client_ca.display().to_string(),
    ]);
    let gw = builder_with(&args).start().await;
    let url = format!("{}/gateway/health", gw.base_url());

    let anonymous = client(&ca, None).get(&url).send().await;
    assert!(anonymous.is_err(), "no client certificate: {anonymous:?}");
    let foreign = client(&ca, Some(&stranger.client("mallory")))
        .get(&url)
        .send()
        .await;
    assert!(
        foreign.is_err(),
        "a certificate from another CA: {foreign:?}"
    );
    let known = client(&ca, Some(&clients.client("alice")))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(known.status(), 200);
}

#[tokio::test]
async fn tls_unusable_settings_stop_the_start_naming_the_file() {
    init_tracing();
    let ca = Ca::new("e2e CA");
    let files = Files::new(&ca, &ca.server("gateway"));
    let fails = |args: Vec<String>| async move {
        match builder_with(&args).try_start().await {
            Ok(_) => panic!("started with {args:?}"),
            Err((code, stderr)) => {
                assert_ne!(code, Some(0), "{stderr}");
                stderr
            }
        }
    };
    let cert = files.cert().display().to_string();
    let key = files.key().display().to_string();
    let stderr = fails(vec!["--tls-cert".into(), cert.clone()]).await;
    assert!(stderr.contains("tls_key"), "{stderr}");
    let missing = files.path("missing.pem").display().to_string();
    let stderr = fails(vec![
        "--tls-cert".into(),
        missing.clone(),
        "--tls-key".into(),
        key.clone(),
    ])
    .await;
    assert!(stderr.contains(&missing), "{stderr}");
    // A key that is not the certificate's.
    let other = ca.server("other");
    let other_key = files.path("other.key");
    std::fs::write(&other_key, &other.key_pem).unwrap();
    let stderr = fails(vec![
        "--tls-cert".into(),
        cert.clone(),
        "--tls-key".into(),
        other_key.display().to_string(),
    ])
    .await;
    assert!(stderr.contains(&cert), "{stderr}");
    // A certificate file given as the key.
    let stderr = fails(vec![
        "--tls-cert".into(),
        cert.clone(),
        "--tls-key".into(),
        cert.clone(),
    ])
    .await;
    assert!(stderr.contains("private key"), "{stderr}");
}

/// Whether a gateway started with `args` (auth on) warns about clear-text credentials.
async fn warns_about_clear_text(args: &[String]) -> bool {
    let mut builder = AuthGateway::builder(GATEWAY);
    for arg in args {
        builder = builder.arg(arg.clone());
    }
    let gw = builder.start().await;
    // The warning is logged before the banner is printed, so the log already has it.
    let warned = gw.stderr().contains("without TLS");
    gw.stop().await;
    warned
}

#[tokio::test]
async fn tls_a_public_bind_with_auth_but_without_tls_warns() {
    init_tracing();
    let public = ["--host".to_owned(), "0.0.0.0".to_owned()];
    assert!(warns_about_clear_text(&public).await);
    let mut proxied = public.to_vec();
    proxied.push("--behind-tls-proxy".to_owned());
    assert!(!warns_about_clear_text(&proxied).await);
    let ca = Ca::new("e2e CA");
    let files = Files::new(&ca, &ca.server("gateway"));
    let mut tls = public.to_vec();
    tls.extend(files.args());
    assert!(!warns_about_clear_text(&tls).await, "with TLS");
    assert!(
        !warns_about_clear_text(&[]).await,
        "loopback is not the network"
    );
}
