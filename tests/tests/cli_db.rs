//! `mcpp gateway db status|migrate` against a fresh SQLite file: status creates nothing
//! and lists every migration as pending; migrate applies them; status then lists them
//! applied with the change feed's version; a gateway started on it finds nothing to do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use gateway_e2e::{TempDb, TestGateway, run};
use serde_json::Value;

const MCPP: &str = env!("CARGO_BIN_EXE_mcpp-e2e");
const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");

async fn db(verb: &str, url: &str, json: bool) -> gateway_e2e::Output {
    let mut args = vec!["gateway", "db", verb, "--database", url];
    if json {
        args.push("--json");
    }
    run(MCPP, args, &[], Duration::from_secs(30)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_then_migrate_then_status() {
    let tmp = TempDb::new();
    let url = format!("{}?mode=rwc", tmp.url());
    let before: Value =
        serde_json::from_str(db("status", &url, true).await.expect_success()).unwrap();
    let migrations = before["migrations"].as_array().unwrap();
    assert!(migrations.len() >= 10, "{before}");
    assert!(migrations.iter().all(|m| m["applied"] == false), "{before}");
    assert_eq!(before["change_version"], Value::Null);
    assert_eq!(before["backend"], "sqlite");

    let text = db("migrate", &url, false).await;
    let text = text.expect_success();
    assert!(text.contains("0 pending"), "{text}");
    assert!(
        text.contains("applied  m20261210_000001_create_changes"),
        "{text}"
    );
    assert!(text.contains("change version: 0"), "{text}");

    let after: Value =
        serde_json::from_str(db("status", &url, true).await.expect_success()).unwrap();
    assert!(
        after["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["applied"] == true)
    );
    assert_eq!(after["change_version"], 0);

    // A gateway on the migrated database starts and records its changes in the feed.
    let gw = TestGateway::builder(GATEWAY).database(&tmp).start().await;
    gw.register(serde_json::json!({"template_name": "t", "command": ["true"]}))
        .await;
    gw.stop().await;
    let last: Value =
        serde_json::from_str(db("status", &url, true).await.expect_success()).unwrap();
    assert!(last["change_version"].as_i64().unwrap() >= 1, "{last}");

    let bad = db("status", "ftp://nowhere", false).await;
    assert_eq!(bad.code, Some(1), "{}", bad.stderr);
}
