//! The database goes away mid-run and comes back (PostgreSQL, through a TCP "cable" the
//! test can cut: stopping the machine's shared server would break every other test).
//! Meanwhile tool calls keep being served from the routing table, writes are refused
//! at once with 503 `database_unavailable`, readiness says so; when it is back, writes
//! and readiness recover without a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use gateway_e2e::{
    EchoHttp,
    auth::{AuthGateway, Cred},
    fleet::SharedDb,
    wait_until,
};
use parking_lot::Mutex;
use serde_json::json;
use tokio::{
    net::{TcpListener, TcpStream},
    task::AbortHandle,
};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// A TCP forwarder to the database that can be cut (every connection dropped, new
/// ones closed at once) and restored.
struct Cable {
    port: u16,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Cable {
    async fn start(target: &'static str) -> Cable {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (d, l) = (down.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if d.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                l.lock().push(link.abort_handle());
            }
        });
        Cable {
            port,
            down,
            links,
            accept,
        }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for link in self.links.lock().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Cable {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

#[tokio::test]
async fn a_database_outage_refuses_writes_keeps_serving_and_recovers() {
    let Some(shared) = SharedDb::postgres().await else {
        return;
    };
    let cable = Cable::start("127.0.0.1:5432").await;
    let url = shared
        .url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", cable.port));
    let gw = AuthGateway::builder(GATEWAY)
        .bare()
        .database_url(url)
        .start()
        .await;
    let c = gw.client();
    let none = Cred::None;
    let echo = EchoHttp::spawn(ECHO, 0, "e1").await;
    let other = EchoHttp::spawn(ECHO, 0, "e2").await;
    let register = |id: &'static str, url: String| {
        let c = c.clone();
        async move {
            c.post(
                "/gateway/register",
                none,
                &json!({"template_name": "echo", "instance_id": id, "endpoint": url}),
            )
            .await
        }
    };
    register("e1", echo.url()).await.expect_status(201);
    let call = || async {
        c.post(
            "/mcp/echo/tools/call",
            none,
            &json!({"name": "echo", "arguments": {"message": "hi"}}),
        )
        .await
    };
    call().await.expect_status(200);
    c.get("/gateway/ready", none).await.expect_status(200);

    cable.cut();
    // Calls are served from memory.
    for _ in 0..5 {
        call().await.expect_status(200);
    }
    // A write is refused promptly, with the reason and no detail.
    let started = Instant::now();
    let refused = register("e2", other.url()).await;
    let body = refused.expect_error(503, "database_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the refusal took {:?}",
        started.elapsed()
    );
    assert!(!body.to_string().contains("5432"), "{body}");
    let ready = c.get("/gateway/ready", none).await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert!(ready.text.contains("unreachable"), "{}", ready.text);
    // Liveness is not readiness: the process is fine.
    let health = c.get("/gateway/health", none).await;
    assert!(
        health.status == 200 || health.status == 503,
        "{}",
        health.text
    );

    cable.restore();
    wait_until("ready again", Duration::from_secs(30), || async {
        c.get("/gateway/ready", none).await.status == 200
    })
    .await;
    register("e2", other.url()).await.expect_status(201);
    call().await.expect_status(200);
    let registry = c.get("/gateway/registry", none).await.expect_status(200);
    assert_eq!(
        registry["templates"]["echo"]["instances"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{registry}"
    );
    gw.stop().await;
    shared.drop().await;
}
