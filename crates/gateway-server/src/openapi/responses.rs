//! What every operation of a kind can answer, documented once instead of on each
//! handler: the `security` of every non-public route (bearer token or API key); the browser guard's 403 on every route; 401 and 429 on routes that need a
//! credential; 400 on routes with a body or query parameters; 415, 413 and 408 on
//! routes with a JSON body; 404 `auth_disabled` on the
//! account routes of a gateway without `--auth`. Also the body rules that one Rust type
//! cannot say alone (a field required on one route only, "an endpoint or a command").
//! `tests/tests/api_fuzz.rs` holds the document to what the server does.

use serde_json::{Map, Value, json};

use crate::auth::is_public;

/// Adds the shared answers and body rules to the document `doc` (as JSON); `auth_on`:
/// the gateway asks for credentials, so protected operations declare `security`.
pub(super) fn complete(doc: &mut Value, auth_on: bool) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                if !matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch") {
                    continue;
                }
                if let Some(operation) = operation.as_object_mut() {
                    add_shared_answers(path, operation, auth_on);
                }
            }
        }
    }
    add_body_rules(doc);
}

fn add_shared_answers(path: &str, operation: &mut Map<String, Value>, auth_on: bool) {
    if auth_on && !is_public(path) {
        // With `--auth` every route but the public ones takes a bearer token or an API
        // key (Swagger UI's "Authorize" then applies to them).
        operation
            .entry("security")
            .or_insert_with(|| json!([{"bearer": []}, {"api_key": []}]));
    }
    let has_body = operation.contains_key("requestBody");
    let has_query = operation
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status)
            .or_insert_with(|| error_response(description));
    };
    add(
        "403",
        "Refused: a `Host` or `Origin` this gateway does not serve (`forbidden_host`, `forbidden_origin`), or, with `--auth`, a credential without the scope or template this route needs",
    );
    if !is_public(path) {
        add(
            "401",
            "With `--auth`: no credential, or one that is invalid, expired or revoked (`WWW-Authenticate` says how to authenticate)",
        );
        add(
            "429",
            "With `--auth`: the principal's rate limit, or too many invalid credentials from this address (see `Retry-After`)",
        );
    }
    if has_body || has_query {
        add(
            "400",
            "Invalid input: the body or a query parameter (`invalid_field`; `field` names it)",
        );
    }
    if has_body {
        add(
            "415",
            "The body is not `Content-Type: application/json` (`unsupported_media_type`)",
        );
        add(
            "413",
            "The body is larger than `MCP_GATEWAY_MAX_MESSAGE_SIZE` (`payload_too_large`)",
        );
        add("408", "The body did not arrive in time (`request_timeout`)");
    }
    if path.starts_with("/auth/") {
        add(
            "404",
            "Authentication is not enabled on this gateway (`auth_disabled`; start it with `--auth`), or the named item does not exist",
        );
    }
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

/// A name as `TemplateName` and `InstanceId` accept it.
const NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]*$";

/// `POST /gateway/register` needs `template_name` (the per-template route takes it from
/// the path), and every registration needs an endpoint or a command; the wire forms of
/// the load-balancer settings whose types parse strings by hand.
fn add_body_rules(doc: &mut Value) {
    let not_null = json!({"not": {"type": "null"}});
    if let Some(register) = doc.pointer_mut("/components/schemas/RegisterInstance") {
        if let Some(schema) = register.as_object_mut() {
            schema.insert(
                "anyOf".to_owned(),
                json!([
                    {"required": ["endpoint"], "properties": {"endpoint": not_null}},
                    {"required": ["command"], "properties": {"command": not_null}}
                ]),
            );
        }
        restrict(
            register,
            "template_name",
            json!({"pattern": NAME_PATTERN, "maxLength": gateway_core::TemplateName::MAX_LEN}),
        );
        restrict(
            register,
            "weight",
            json!({"minimum": 1, "maximum": gateway_core::Weight::MAX}),
        );
        restrict(
            register,
            "instance_id",
            json!({"pattern": NAME_PATTERN, "maxLength": gateway_core::InstanceId::MAX_LEN}),
        );
    }
    let body = "/paths/~1gateway~1register/post/requestBody/content/application~1json/schema";
    if let Some(schema) = doc.pointer_mut(body) {
        *schema = json!({
            "allOf": [schema.take(), {"required": ["template_name"], "properties": {"template_name": not_null}}]
        });
    }
    if let Some(update) = doc.pointer_mut("/components/schemas/LoadBalancerUpdate") {
        let strategies: Vec<Value> = gateway_core::Strategy::ALL
            .iter()
            .map(|s| Value::from(s.as_str()))
            .chain([Value::Null])
            .collect();
        restrict(update, "strategy", json!({"enum": strategies}));
        let modes: Vec<Value> = gateway_core::SessionMode::ALL
            .iter()
            .map(|m| Value::from(m.as_str()))
            .chain([Value::Null])
            .collect();
        restrict(update, "session_mode", json!({"enum": modes}));
        type S = gateway_core::LoadBalancerSettings;
        let range = |(min, max): (u64, u64)| json!({"minimum": min, "maximum": max});
        let widen = |(min, max): (u32, u32)| (u64::from(min), u64::from(max));
        restrict(
            update,
            "health_check_interval",
            range(S::HEALTH_INTERVAL_SECS),
        );
        restrict(
            update,
            "health_check_timeout",
            range(S::HEALTH_TIMEOUT_SECS),
        );
        restrict(update, "timeout", range(S::TIMEOUT_SECS));
        restrict(update, "max_retries", range(widen(S::MAX_RETRIES)));
        restrict(update, "pool_size", range(widen(S::POOL_SIZE)));
        restrict(update, "max_sessions", range(widen(S::MAX_SESSIONS)));
        // Visible ASCII but '#' after the slash, at most 256 bytes.
        restrict(
            update,
            "health_probe",
            json!({"anyOf": [
                {"enum": ["ping", "tools_list", null]},
                {"type": "string", "pattern": "^/[!-\"$-~]*$", "maxLength": 256}
            ]}),
        );
    }
}

/// Merges `extra` into the schema of `schema`'s property `name`.
fn restrict(schema: &mut Value, name: &str, extra: Value) {
    let Some(property) = schema
        .pointer_mut(&format!("/properties/{name}"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if let Value::Object(extra) = extra {
        property.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "paths": {
                "/gateway/health": {"get": {"responses": {"200": {"description": "ok"}}}},
                "/auth/users": {"post": {
                    "requestBody": {"content": {}},
                    "responses": {"201": {"description": "made"}, "403": {"description": "own words"}}
                }},
                "/gateway/register": {"post": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegisterInstance"}}}},
                    "responses": {}
                }}
            },
            "components": {"schemas": {"RegisterInstance": {"type": "object"}}}
        })
    }

    #[test]
    fn public_routes_get_the_guard_only_and_body_routes_the_body_answers() {
        let mut d = doc();
        complete(&mut d, true);
        let health = &d["paths"]["/gateway/health"]["get"]["responses"];
        assert!(health.get("403").is_some());
        assert!(health.get("401").is_none(), "health is public");
        assert!(health.get("415").is_none(), "no body");
        let users = &d["paths"]["/auth/users"]["post"]["responses"];
        for status in ["401", "404", "408", "413", "415", "429"] {
            assert!(users.get(status).is_some(), "{status} in {users}");
        }
        assert_eq!(
            users["403"]["description"], "own words",
            "a handler's own words stay"
        );
    }

    #[test]
    fn register_needs_a_template_name_and_an_endpoint_or_a_command() {
        let mut d = doc();
        complete(&mut d, true);
        let schema = &d["paths"]["/gateway/register"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(schema["allOf"][1]["required"], json!(["template_name"]));
        assert_eq!(
            d["components"]["schemas"]["RegisterInstance"]["anyOf"][1]["required"],
            json!(["command"])
        );
    }
}

#[cfg(test)]
mod document_tests {
    #[test]
    fn the_served_document_carries_the_shared_answers() {
        let doc = super::super::document(true);
        let call = &doc["paths"]["/mcp/{template}/tools/call"]["post"]["responses"];
        for status in ["403", "408", "413", "415", "429"] {
            assert!(call.get(status).is_some(), "{status} in {call}");
        }
    }
}
