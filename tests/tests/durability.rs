//! Durability: the gateway is killed with SIGKILL in the middle of a burst of
//! registrations, user creations and API-key creations; after a restart on the same
//! database every change it acknowledged (201) is there, and nothing is half-written
//! (every stored user can log in with the password it was created with, every stored
//! key authenticates, every stored instance has its endpoint). SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use gateway_e2e::{
    TempDb,
    auth::{ADMIN_PASSWORD, AuthGateway, Cred, USER_PASSWORD},
    fleet::SharedDb,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");

/// Writers in parallel, each cycling through the three kinds of change.
const WRITERS: usize = 4;
/// Acknowledged changes to wait for before the kill (the kill lands mid-burst).
const ACKED_BEFORE_KILL: usize = 120;

/// What the gateway answered 201 to before it died.
#[derive(Default)]
struct Acked {
    instances: Vec<(String, String, String)>,
    users: Vec<String>,
    keys: Vec<(String, String)>,
}

impl Acked {
    fn total(&self) -> usize {
        self.instances.len() + self.users.len() + self.keys.len()
    }
}

/// One writer: until the gateway stops answering, registers an instance, creates a
/// user, creates a key; records each 201.
async fn write(base: String, token: String, writer: usize, acked: Arc<Mutex<Acked>>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    for i in 0.. {
        let template = format!("burst{writer}");
        let id = format!("w{writer}-{i}");
        let endpoint = format!("http://127.0.0.1:9/mcp/{id}");
        let Ok(r) = post(
            "/gateway/register",
            json!({"template_name": template, "instance_id": id, "endpoint": endpoint}),
        )
        .await
        else {
            return;
        };
        if r.status() == 201 {
            acked
                .lock()
                .instances
                .push((template, id.clone(), endpoint));
        }
        let user = format!("user-{writer}-{i}");
        let Ok(r) = post(
            "/auth/users",
            json!({"username": user, "password": USER_PASSWORD, "role": "user"}),
        )
        .await
        else {
            return;
        };
        if r.status() == 201 {
            acked.lock().users.push(user);
        }
        let Ok(r) = post(
            "/auth/api-keys",
            json!({"name": format!("key-{writer}-{i}")}),
        )
        .await
        else {
            return;
        };
        if r.status() == 201 {
            let Ok(created) = r.json::<Value>().await else {
                return;
            };
            let key = created["key"].as_str().unwrap().to_owned();
            let id = created["id"].as_str().unwrap().to_owned();
            acked.lock().keys.push((id, key));
        }
    }
}

/// Runs the burst on a gateway started by `start`, kills it, restarts it with
/// `start`, and checks what survived.
async fn kill_during_burst<F, Fut>(start: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = AuthGateway>,
{
    let first = start().await;
    let base = first.base_url();
    let token = first.client().login("admin", ADMIN_PASSWORD).await;
    let acked = Arc::new(Mutex::new(Acked::default()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(write(base.clone(), token.clone(), w, acked.clone())))
        .collect();
    gateway_e2e::wait_until(
        "a burst of acknowledged changes",
        Duration::from_secs(60),
        || {
            let total = acked.lock().total();
            async move { total >= ACKED_BEFORE_KILL }
        },
    )
    .await;
    first.kill().await;
    for w in writers {
        w.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock());
    assert!(acked.total() >= ACKED_BEFORE_KILL);

    let second = start().await;
    let c = second.client();
    let token = c.login("admin", ADMIN_PASSWORD).await;
    let admin = Cred::Bearer(&token);

    // Every acknowledged instance, with its endpoint; no burst instance without one.
    let registry = c.get("/gateway/registry", admin).await.expect_status(200);
    let mut stored = Vec::new();
    for w in 0..WRITERS {
        let template = format!("burst{w}");
        for instance in registry["templates"][&template]["instances"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let id = instance["id"].as_str().unwrap().to_owned();
            let endpoint = instance["endpoint"].as_str().unwrap_or_default();
            assert_eq!(
                endpoint,
                format!("http://127.0.0.1:9/mcp/{id}"),
                "half-written instance {instance}"
            );
            stored.push((template.clone(), id));
        }
    }
    for (template, id, _) in &acked.instances {
        assert!(
            stored.contains(&(template.clone(), id.clone())),
            "acknowledged instance {template}/{id} lost after SIGKILL"
        );
    }

    // Every acknowledged user; every stored burst user logs in with its password.
    let users = c.get("/auth/users", admin).await.expect_status(200);
    let names: Vec<String> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    for user in &acked.users {
        assert!(
            names.contains(user),
            "acknowledged user {user} lost after SIGKILL"
        );
    }
    for user in names.iter().filter(|n| n.starts_with("user-")) {
        let reply = c.login_reply(user, USER_PASSWORD).await;
        assert_eq!(
            reply.status, 200,
            "stored user {user} cannot log in: {}",
            reply.text
        );
    }

    // Every acknowledged key is listed and authenticates; every listed key is whole.
    let keys = c.get("/auth/api-keys", admin).await.expect_status(200);
    let listed: Vec<String> = keys["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            assert!(k["name"].is_string(), "half-written key {k}");
            k["id"].as_str().unwrap().to_owned()
        })
        .collect();
    for (id, key) in &acked.keys {
        assert!(
            listed.contains(id),
            "acknowledged key {id} lost after SIGKILL"
        );
        c.get("/auth/me", Cred::Key(key)).await.expect_status(200);
    }
    eprintln!(
        "acknowledged before SIGKILL: {} instances, {} users, {} keys; all present after restart",
        acked.instances.len(),
        acked.users.len(),
        acked.keys.len()
    );
    second.stop().await;
}

#[tokio::test]
async fn sqlite_keeps_every_acknowledged_change_across_sigkill() {
    let db = TempDb::new();
    kill_during_burst(|| {
        AuthGateway::builder(GATEWAY)
            .database(&db)
            .env("MCP_GATEWAY_RATE_LIMIT_ADMIN", "1000000")
            .start()
    })
    .await;
}

#[tokio::test]
async fn postgres_keeps_every_acknowledged_change_across_sigkill() {
    let Some(shared) = SharedDb::postgres().await else {
        return;
    };
    let db = TempDb::new();
    kill_during_burst(|| {
        AuthGateway::builder(GATEWAY)
            .database(&db)
            .database_url(&shared.url)
            .env("MCP_GATEWAY_RATE_LIMIT_ADMIN", "1000000")
            .start()
    })
    .await;
    shared.drop().await;
}
