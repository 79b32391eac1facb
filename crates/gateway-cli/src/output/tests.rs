use gateway_core::api::InstanceInfo;
use serde_json::json;

use super::*;

fn info(endpoint: Option<&str>, command: Option<&[&str]>) -> InstanceInfo {
    InstanceInfo {
        id: "demo-1".into(),
        template_name: "demo".into(),
        transport: if endpoint.is_some() { "http" } else { "stdio" }.into(),
        endpoint: endpoint.map(Into::into),
        command: command.map(|c| c.iter().map(|s| (*s).to_owned()).collect()),
        working_dir: None,
        env_vars: Default::default(),
        headers: Default::default(),
        weight: 2,
        metadata: Default::default(),
        status: "unknown".into(),
        created_at: "2026-11-24T07:30:00.000Z".into(),
        updated_at: "2026-11-24T07:30:00.000Z".into(),
    }
}

#[test]
fn registered_line() {
    assert_eq!(
        registered(&info(Some("http://127.0.0.1:7071/mcp"), None)),
        "registered instance demo-1 in template demo (http http://127.0.0.1:7071/mcp, weight 2, status unknown)"
    );
    assert_eq!(
        registered(&info(None, Some(&["python", "server.py"]))),
        "registered instance demo-1 in template demo (stdio python server.py, weight 2, status unknown)"
    );
}

#[test]
fn status_report() {
    let health =
        json!({"status":"degraded","database":"healthy","uptime":3725.4,"version":"0.1.0"});
    let registry = json!({
        "total_templates": 2, "total_instances": 2, "healthy_instances": 1, "unhealthy_instances": 1,
        "templates": {
            "demo": {"load_balancer_strategy": "round_robin", "instances": [
                {"id":"demo-1","transport":"http","endpoint":"http://127.0.0.1:7071/mcp","weight":1,"status":"healthy"},
                {"id":"demo-2","transport":"stdio","command":["python","server.py"],"weight":10,"status":"unhealthy"}
            ]},
            "empty": {"load_balancer_strategy": "weighted", "instances": []}
        }
    });
    let expected = "\
gateway    http://127.0.0.1:8080 (version 0.1.0)
status     degraded (database: healthy)
uptime     1h2m5s
templates  2
instances  2 (1 healthy, 1 unhealthy)

TEMPLATE  STRATEGY     INSTANCE  TRANSPORT  TARGET                     WEIGHT  STATUS
demo      round_robin  demo-1    http       http://127.0.0.1:7071/mcp  1       healthy
demo      round_robin  demo-2    stdio      python server.py           10      unhealthy
empty     weighted     -
";
    assert_eq!(
        status("http://127.0.0.1:8080", &health, &registry),
        expected
    );
}

#[test]
fn status_with_nothing_registered() {
    let health = json!({"status":"healthy","database":"healthy"});
    let registry = json!({"total_templates":0,"total_instances":0,"healthy_instances":0,"unhealthy_instances":0,"templates":{}});
    let out = status("http://gw", &health, &registry);
    assert!(
        out.starts_with(
            "gateway    http://gw\nstatus     healthy (database: healthy)\ntemplates  0\n"
        ),
        "{out}"
    );
    assert!(out.ends_with(
        "no instances registered (add one with `mcpp gateway register TEMPLATE --endpoint URL`)\n"
    ));
}

#[test]
fn durations() {
    assert_eq!(duration(0.2), "0s");
    assert_eq!(duration(61.0), "1m1s");
    assert_eq!(duration(-5.0), "0s");
}
