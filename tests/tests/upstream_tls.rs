//! Upstreams behind TLS with a private CA, and upstreams that require a client
//! certificate (mTLS): a template's `upstream_tls` settings (`ca_bundle`, `system_roots`,
//! `client_cert`, `client_key`) decide what its upstreams are verified against and what
//! the gateway presents, per template. The certificates are made by the test (rcgen);
//! the upstream is the echo fixture behind a TLS-terminating proxy on port 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use gateway_e2e::{
    EchoHttp, TempDb,
    auth::{ADMIN_PASSWORD, AuthGateway, Client, Cred, USER_PASSWORD},
    install_crypto_provider,
    mcp::McpHttp,
    wait_until,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
    server::WebPkiClientVerifier,
};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::TlsAcceptor;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

// === certificates ===

/// A private CA with a server certificate for `localhost`/`127.0.0.1`, a second CA for
/// client certificates with one client certificate, and an unrelated CA; PEM files in a
/// temp dir (paths are what the gateway is given).
struct Pki {
    dir: tempfile::TempDir,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
    client_ca: CertificateDer<'static>,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("gw-upstream-tls-")
            .tempdir()
            .unwrap();
        let server_ca = ca("mcp upstream test CA");
        let server_key = KeyPair::generate().unwrap();
        let mut server =
            CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server = server.signed_by(&server_key, &server_ca).unwrap();

        let client_ca = ca("mcp gateway clients CA");
        let client_key = KeyPair::generate().unwrap();
        let mut client = CertificateParams::new(vec!["gateway.test".into()]).unwrap();
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = client.signed_by(&client_key, &client_ca).unwrap();

        let pki = Pki {
            dir,
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
            client_ca: client_ca.der().clone(),
        };
        pki.write("ca.pem", &server_ca.pem());
        pki.write("rogue-ca.pem", &ca("someone else").pem());
        pki.write("client.pem", &client.pem());
        pki.write("client.key", &client_key.serialize_pem());
        pki.write("other.key", &KeyPair::generate().unwrap().serialize_pem());
        pki
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn write(&self, name: &str, pem: &str) {
        std::fs::write(self.dir.path().join(name), pem).unwrap();
    }

    /// The base64 lines of a PEM file (what must never appear in an answer or a log).
    fn secret_lines(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.path(name))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::to_owned)
            .collect()
    }
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

// === a TLS upstream ===

/// The echo fixture behind a TLS-terminating proxy, optionally requiring a client
/// certificate signed by the PKI's client CA.
struct TlsUpstream {
    addr: SocketAddr,
    /// Completed TLS handshakes (with a verified client certificate when required).
    handshakes: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
    _echo: EchoHttp,
}

impl TlsUpstream {
    async fn start(pki: &Pki, instance_id: &str, require_client_cert: bool) -> TlsUpstream {
        install_crypto_provider();
        let echo = EchoHttp::spawn(ECHO, 0, instance_id).await;
        let builder = if require_client_cert {
            let mut roots = RootCertStore::empty();
            roots.add(pki.client_ca.clone()).unwrap();
            ServerConfig::builder().with_client_cert_verifier(
                WebPkiClientVerifier::builder(roots.into()).build().unwrap(),
            )
        } else {
            ServerConfig::builder().with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone()));
        let config = builder
            .with_single_cert(pki.server_chain.clone(), key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counter = handshakes.clone();
        let echo_port = echo.port;
        let accept = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    let Ok(mut plain) =
                        tokio::net::TcpStream::connect(("127.0.0.1", echo_port)).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsUpstream {
            addr,
            handshakes,
            accept,
            _echo: echo,
        }
    }

    /// `https://localhost:PORT/mcp`: the name in the server certificate.
    fn url(&self) -> String {
        format!("https://localhost:{}/mcp", self.addr.port())
    }

    fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for TlsUpstream {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

// === helpers ===

async fn whoami(c: &Client, cred: Cred<'_>, template: &str) -> gateway_e2e::Reply {
    c.post(
        &format!("/mcp/{template}/tools/call"),
        cred,
        &json!({"name": "whoami", "arguments": {}}),
    )
    .await
}

#[track_caller]
fn assert_answered_by(reply: &gateway_e2e::Reply, instance: &str) {
    let body = reply.expect_status(200);
    assert_eq!(body["content"][0]["text"], instance, "{body}");
}

#[track_caller]
fn assert_upstream_failed(reply: &gateway_e2e::Reply) {
    assert!(
        matches!(reply.status, 502 | 503),
        "expected the TLS failure as 502/503, got {}: {}",
        reply.status,
        reply.text
    );
}

async fn put_tls(c: &Client, cred: Cred<'_>, template: &str, tls: Value) -> gateway_e2e::Reply {
    c.send(
        "PUT",
        &format!("/gateway/templates/{template}/load-balancer"),
        cred,
        Some(&json!({ "upstream_tls": tls })),
    )
    .await
}

async fn settings(c: &Client, cred: Cred<'_>, template: &str) -> Value {
    c.get(
        &format!("/gateway/templates/{template}/load-balancer"),
        cred,
    )
    .await
    .expect_status(200)
}

/// Waits (bounded) until the gateway's log contains `needle`.
async fn wait_for_log(gw: &AuthGateway, needle: &str) {
    wait_until(
        &format!("{needle:?} in the log"),
        Duration::from_secs(10),
        || async { gw.stderr().contains(needle) },
    )
    .await;
}

/// Registers `upstream` as instance `id` of `template` (auth off), asserting 201.
async fn register(c: &Client, template: &str, id: &str, upstream: &TlsUpstream) {
    c.post(
        "/gateway/register",
        Cred::None,
        &json!({"template_name": template, "instance_id": id, "endpoint": upstream.url()}),
    )
    .await
    .expect_status(201);
}

// === tests ===

#[tokio::test]
async fn a_private_ca_upstream_works_only_when_its_ca_bundle_is_set() {
    let pki = Pki::new();
    let upstream = TlsUpstream::start(&pki, "s1", false).await;
    let gw = AuthGateway::builder(GATEWAY).bare().start().await;
    let c = gw.client();
    let none = Cred::None;
    for (template, id) in [("secure", "s1"), ("plain", "p1")] {
        register(&c, template, id, &upstream).await;
    }

    // The system's roots do not know the private CA: the handshake fails, the log says why.
    assert_upstream_failed(&whoami(&c, none, "secure").await);
    wait_for_log(&gw, "UnknownIssuer").await;
    assert_eq!(upstream.handshakes(), 0);

    // Unusable settings are refused by field, and nothing is stored.
    let missing = pki.path("missing.pem");
    for (tls, field, says) in [
        (
            json!({"ca_bundle": missing}),
            "upstream_tls.ca_bundle",
            "cannot read the file",
        ),
        (
            json!({"ca_bundle": "ca.pem"}),
            "upstream_tls.ca_bundle",
            "absolute path",
        ),
        (
            json!({"ca_bundle": pki.path("client.key")}),
            "upstream_tls.ca_bundle",
            "holds no PEM certificate",
        ),
        (
            json!({"ca_bundle": "/dev/zero"}),
            "upstream_tls.ca_bundle",
            "not a regular file",
        ),
        (
            json!({"system_roots": false}),
            "upstream_tls.system_roots",
            "ca_bundle",
        ),
        (
            json!({"ca_bundle": pki.path("ca.pem"), "client_cert": pki.path("client.pem")}),
            "upstream_tls.client_key",
            "required",
        ),
    ] {
        let reply = put_tls(&c, none, "secure", tls.clone()).await;
        let body = reply.expect_error(400, "invalid_field");
        assert_eq!(body["field"], field, "{tls}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{tls}: {body}"
        );
    }
    let unknown = put_tls(&c, none, "secure", json!({"ca_file": pki.path("ca.pem")})).await;
    let body = unknown.expect_error(400, "invalid_field");
    assert!(
        body["field"].as_str().unwrap().starts_with("upstream_tls"),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("ca_file"),
        "{body}"
    );
    assert!(
        settings(&c, none, "secure")
            .await
            .get("upstream_tls")
            .is_none()
    );

    // With the CA: the call goes through, over TLS.
    let set = put_tls(&c, none, "secure", json!({"ca_bundle": pki.path("ca.pem")}))
        .await
        .expect_status(200);
    assert_eq!(
        set["upstream_tls"],
        json!({"ca_bundle": pki.path("ca.pem"), "system_roots": false})
    );
    assert_eq!(settings(&c, none, "secure").await, set);
    assert_answered_by(&whoami(&c, none, "secure").await, "s1");
    assert!(upstream.handshakes() >= 1);
    // Per template: another template on the same upstream still trusts the system roots only.
    assert_upstream_failed(&whoami(&c, none, "plain").await);

    // A bundle of another CA does not verify this upstream: the bundle replaces the
    // system roots, it does not disable verification.
    put_tls(
        &c,
        none,
        "secure",
        json!({"ca_bundle": pki.path("rogue-ca.pem")}),
    )
    .await
    .expect_status(200);
    assert_upstream_failed(&whoami(&c, none, "secure").await);
    // The bundle plus the system roots.
    let both = put_tls(
        &c,
        none,
        "secure",
        json!({"ca_bundle": pki.path("ca.pem"), "system_roots": true}),
    )
    .await
    .expect_status(200);
    assert_eq!(both["upstream_tls"]["system_roots"], true);
    assert_answered_by(&whoami(&c, none, "secure").await, "s1");

    // null removes the settings: back to the system roots, new connections fail again.
    let cleared = put_tls(&c, none, "secure", Value::Null)
        .await
        .expect_status(200);
    assert!(cleared.get("upstream_tls").is_none(), "{cleared}");
    assert_upstream_failed(&whoami(&c, none, "secure").await);
    gw.stop().await;
}

#[tokio::test]
async fn an_mtls_upstream_accepts_the_template_client_certificate_only() {
    let pki = Pki::new();
    let upstream = TlsUpstream::start(&pki, "m1", true).await;
    let gw = AuthGateway::builder(GATEWAY).bare().start().await;
    let c = gw.client();
    let none = Cred::None;
    for (template, id) in [("mtls", "m1"), ("anonymous", "a1")] {
        register(&c, template, id, &upstream).await;
        put_tls(&c, none, template, json!({"ca_bundle": pki.path("ca.pem")}))
            .await
            .expect_status(200);
    }

    // The CA alone: the upstream refuses a client without a certificate.
    assert_upstream_failed(&whoami(&c, none, "mtls").await);
    assert_eq!(upstream.handshakes(), 0);

    // A key that is not the certificate's is refused by name, without echoing the key.
    let reply = put_tls(
        &c,
        none,
        "mtls",
        json!({"ca_bundle": pki.path("ca.pem"), "client_cert": pki.path("client.pem"),
               "client_key": pki.path("other.key")}),
    )
    .await;
    let body = reply.expect_error(400, "invalid_field");
    assert_eq!(body["field"], "upstream_tls.client_key", "{body}");
    for line in pki.secret_lines("other.key") {
        assert!(
            !reply.text.contains(&line),
            "key material in {}",
            reply.text
        );
    }

    // The template's client certificate: accepted.
    let tls = json!({"ca_bundle": pki.path("ca.pem"), "client_cert": pki.path("client.pem"),
                     "client_key": pki.path("client.key")});
    let set = put_tls(&c, none, "mtls", tls.clone())
        .await
        .expect_status(200);
    assert_eq!(set["upstream_tls"]["client_cert"], pki.path("client.pem"));
    assert_eq!(set["upstream_tls"]["client_key"], pki.path("client.key"));
    assert_answered_by(&whoami(&c, none, "mtls").await, "m1");
    assert!(upstream.handshakes() >= 1);
    // The certificate belongs to that template: the other one still has none.
    assert_upstream_failed(&whoami(&c, none, "anonymous").await);

    // Dedicated MCP sessions open upstream sessions of their own, with the same settings.
    c.send(
        "PUT",
        "/gateway/templates/mtls/load-balancer",
        none,
        Some(&json!({"session_mode": "dedicated"})),
    )
    .await
    .expect_status(200);
    let mut session = McpHttp::new(format!("{}/mcp/mtls", gw.base_url()));
    session.initialize("2025-11-25").await;
    let r = session
        .request("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await;
    assert_eq!(r["result"]["content"][0]["text"], "m1", "{r}");

    // Neither the registry view nor the log ever carries the key itself.
    let registry = c.get("/gateway/registry", none).await.expect_status(200);
    assert_eq!(
        registry["templates"]["mtls"]["load_balancer"]["upstream_tls"],
        tls_view(&tls)
    );
    let log = gw.stderr();
    for line in pki.secret_lines("client.key") {
        assert!(
            !registry.to_string().contains(&line),
            "key material in the registry"
        );
        assert!(!log.contains(&line), "key material in the log");
    }
    gw.stop().await;
}

/// What answers show for `tls` set with a bundle (the effective `system_roots`).
fn tls_view(tls: &Value) -> Value {
    let mut view = tls.clone();
    view["system_roots"] = json!(false);
    view
}

#[tokio::test]
async fn upstream_tls_persists_fails_closed_without_its_files_and_is_shown_to_admins_only() {
    let pki = Pki::new();
    let upstream = TlsUpstream::start(&pki, "k1", true).await;
    let db = TempDb::new();
    let gw = AuthGateway::builder(GATEWAY).database(&db).start().await;
    let c = gw.client();
    let admin_jwt = admin_token(&c).await;
    let admin = Cred::Bearer(&admin_jwt);
    c.post(
        "/gateway/register",
        admin,
        &json!({"template_name": "vault", "instance_id": "k1", "endpoint": upstream.url()}),
    )
    .await
    .expect_status(201);
    let tls = json!({"ca_bundle": pki.path("ca.pem"), "client_cert": pki.path("client.pem"),
                     "client_key": pki.path("client.key")});

    // A reader may not change settings; a writer that is not an admin may (gateway:write),
    // but answers show the paths to admins only.
    c.create_user(&admin_jwt, "reader", "user", None).await;
    let reader = c.login("reader", USER_PASSWORD).await;
    let reader = Cred::Bearer(&reader);
    put_tls(&c, reader, "vault", tls.clone())
        .await
        .expect_status(403);
    let (writer, _) = c
        .create_key(
            admin,
            json!({"name": "ops", "scopes": ["gateway:read", "gateway:write"]}),
        )
        .await;
    let writer = Cred::Key(&writer);
    let set = put_tls(&c, writer, "vault", tls.clone())
        .await
        .expect_status(200);
    assert!(set.get("upstream_tls").is_none(), "{set}");
    assert_answered_by(&whoami(&c, admin, "vault").await, "k1");
    assert_eq!(
        settings(&c, admin, "vault").await["upstream_tls"],
        tls_view(&tls)
    );
    for cred in [reader, writer] {
        assert!(
            settings(&c, cred, "vault")
                .await
                .get("upstream_tls")
                .is_none()
        );
        let registry = c.get("/gateway/registry", cred).await.expect_status(200);
        let lb = &registry["templates"]["vault"]["load_balancer"];
        assert!(
            lb.is_object() && lb.get("upstream_tls").is_none(),
            "{registry}"
        );
    }
    gw.stop().await;

    // Stored: after a restart the template's upstreams use the same files.
    let gw = AuthGateway::builder(GATEWAY).database(&db).start().await;
    let c = gw.client();
    let admin = admin_token(&c).await;
    let admin = Cred::Bearer(&admin);
    assert_eq!(
        settings(&c, admin, "vault").await["upstream_tls"],
        tls_view(&tls)
    );
    assert_answered_by(&whoami(&c, admin, "vault").await, "k1");
    gw.stop().await;

    // The client key is gone at start-up: the gateway starts, says so in its log, and
    // the template's HTTPS upstreams fail closed (no fallback to fewer credentials).
    let moved = pki.dir.path().join("client.key.moved");
    std::fs::rename(pki.path("client.key"), &moved).unwrap();
    let gw = AuthGateway::builder(GATEWAY).database(&db).start().await;
    let c = gw.client();
    let admin = admin_token(&c).await;
    let admin = Cred::Bearer(&admin);
    wait_for_log(&gw, "upstream TLS settings unusable").await;
    assert!(gw.stderr().contains("upstream_tls.client_key"));
    let handshakes = upstream.handshakes();
    assert_upstream_failed(&whoami(&c, admin, "vault").await);
    assert_eq!(upstream.handshakes(), handshakes);
    // Restored, and set again: the files are read anew and calls work.
    std::fs::rename(&moved, pki.path("client.key")).unwrap();
    put_tls(&c, admin, "vault", tls.clone())
        .await
        .expect_status(200);
    assert_answered_by(&whoami(&c, admin, "vault").await, "k1");
    gw.stop().await;
}

async fn admin_token(c: &Client) -> String {
    c.login("admin", ADMIN_PASSWORD).await
}

#[tokio::test]
async fn the_config_file_sets_upstream_tls_and_refuses_unusable_files() {
    let pki = Pki::new();
    let upstream = TlsUpstream::start(&pki, "cfg-1", true).await;
    let config = |dir: &Path, tls: Value| -> PathBuf {
        let path = dir.join("gateway.json");
        let file = json!({"templates": {"internal": {
            "instances": [{"endpoint": upstream.url()}],
            "load_balancer": {"upstream_tls": tls},
        }}});
        std::fs::write(&path, file.to_string()).unwrap();
        path
    };

    let db = TempDb::new();
    let good = config(
        db.dir(),
        json!({"ca_bundle": pki.path("ca.pem"), "client_cert": pki.path("client.pem"),
               "client_key": pki.path("client.key")}),
    );
    let gw = AuthGateway::builder(GATEWAY)
        .bare()
        .database(&db)
        .arg("--config")
        .arg(good.to_string_lossy())
        .start()
        .await;
    assert_answered_by(&whoami(&gw.client(), Cred::None, "internal").await, "cfg-1");
    gw.stop().await;

    let db = TempDb::new();
    let bad = config(
        db.dir(),
        json!({"ca_bundle": pki.path("ca.pem"), "client_cert": pki.path("client.pem"),
               "client_key": pki.path("client.pem")}),
    );
    let Err((code, stderr)) = AuthGateway::builder(GATEWAY)
        .bare()
        .database(&db)
        .arg("--config")
        .arg(bad.to_string_lossy())
        .try_start()
        .await
    else {
        panic!("a key file without a key must stop the gateway from starting");
    };
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("templates.internal.load_balancer.upstream_tls.client_key"),
        "{stderr}"
    );
    assert!(stderr.contains("holds no PEM private key"), "{stderr}");
}
