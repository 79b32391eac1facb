//! Row <-> core type conversions: the only module that sees both sea-orm models and
//! `gateway-core` types.
//!
//! Writing never loses information: header order and duplicates, argument order, env,
//! metadata, weight and working directory all come back as they went in. Reading
//! re-validates every value through the core constructors, so a row that no longer fits
//! the rules surfaces as [`Error::Corrupt`] naming table, key and column.

use std::{collections::BTreeMap, fmt, path::PathBuf, time::Duration};

use gateway_core::{
    EndpointUrl, Headers, Instance, InstanceId, InstanceSpec, LoadBalancerSettings, SessionMode,
    StdioCommand, Strategy, TemplateName, UpstreamAuth, ValidationError, Weight,
    api::{UpstreamAuthConfig, UpstreamLimitsConfig, UpstreamTlsConfig},
};
use sea_orm::ActiveValue::Set;
use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{MapAccess, Visitor},
};
use serde_json::{Map, Value};

use crate::{
    entity::{instance, template},
    error::{Error, Result},
};

const TEMPLATES: &str = "gateway_templates";
const INSTANCES: &str = "gateway_instances";

// === templates ===

/// A full `gateway_templates` row for `name` with `settings`, created and updated `now_ms`.
pub(crate) fn template_row(
    name: &TemplateName,
    settings: &LoadBalancerSettings,
    now_ms: i64,
) -> Result<template::ActiveModel> {
    Ok(template::ActiveModel {
        name: Set(name.as_str().to_owned()),
        strategy: Set(settings.strategy().as_str().to_owned()),
        health_check_interval_s: Set(secs_to_column(settings.health_check_interval())?),
        health_check_timeout_s: Set(secs_to_column(settings.health_check_timeout())?),
        max_retries: Set(u32_to_column("max_retries", settings.max_retries())?),
        timeout_s: Set(secs_to_column(settings.request_timeout())?),
        pool_size: Set(u32_to_column("pool_size", settings.pool_size())?),
        health_probe: Set(settings.health_probe().as_str().to_owned()),
        session_mode: Set(settings.session_mode().as_str().to_owned()),
        max_sessions: Set(u32_to_column("max_sessions", settings.max_sessions())?),
        upstream_tls: Set(settings
            .upstream_tls()
            .map(|tls| to_json("upstream_tls", &UpstreamTlsConfig::from(tls)))
            .transpose()?),
        upstream_auth: Set(Some(settings.upstream_auth())
            .filter(|auth| !auth.is_default())
            .map(|auth| to_json("upstream_auth", &UpstreamAuthConfig::from(auth)))
            .transpose()?),
        upstream_limits: Set(Some(settings.upstream_limits())
            .filter(|limits| !limits.is_default())
            .map(|limits| to_json("upstream_limits", &UpstreamLimitsConfig::from(limits)))
            .transpose()?),
        created_at_ms: Set(now_ms),
        updated_at_ms: Set(now_ms),
    })
}

/// The template name and settings stored in `row`.
pub(crate) fn template_from_row(
    row: &template::Model,
) -> Result<(TemplateName, LoadBalancerSettings)> {
    let key = row.name.as_str();
    let corrupt = |field, reason: &dyn fmt::Display| Error::corrupt(TEMPLATES, key, field, reason);
    let name = TemplateName::parse(key).map_err(|e| corrupt("name", &e))?;
    let strategy: Strategy = row
        .strategy
        .parse()
        .map_err(|e: ValidationError| corrupt("strategy", &e))?;
    let unsigned = |field, v: i64| u64::try_from(v).map_err(|_| corrupt(field, &"is negative"));
    let small = |field, v: i32| u32::try_from(v).map_err(|_| corrupt(field, &"is negative"));
    let settings = LoadBalancerSettings::new(
        strategy,
        unsigned("health_check_interval_s", row.health_check_interval_s)?,
        unsigned("health_check_timeout_s", row.health_check_timeout_s)?,
        small("max_retries", row.max_retries)?,
        unsigned("timeout_s", row.timeout_s)?,
        small("pool_size", row.pool_size)?,
    )
    .map_err(|e| {
        let field = match &e {
            ValidationError::OutOfRange { field, .. } => settings_column(field),
            _ => "settings",
        };
        corrupt(field, &e)
    })?;
    let probe = row
        .health_probe
        .parse()
        .map_err(|e: ValidationError| corrupt("health_probe", &e))?;
    let session_mode: SessionMode = row
        .session_mode
        .parse()
        .map_err(|e: ValidationError| corrupt("session_mode", &e))?;
    let settings = settings
        .with_health_probe(probe)
        .with_session_mode(session_mode, small("max_sessions", row.max_sessions)?)
        .map_err(|e| corrupt("max_sessions", &e))?;
    let upstream_tls = match &row.upstream_tls {
        None => None,
        Some(text) => {
            let wire: UpstreamTlsConfig =
                from_json(text).map_err(|e| corrupt("upstream_tls", &e))?;
            Some(wire.validate().map_err(|e| corrupt("upstream_tls", &e))?)
        }
    };
    let upstream_auth = match &row.upstream_auth {
        None => UpstreamAuth::default(),
        Some(text) => {
            let wire: UpstreamAuthConfig =
                from_json(text).map_err(|e| corrupt("upstream_auth", &e))?;
            wire.validate().map_err(|e| corrupt("upstream_auth", &e))?
        }
    };
    let upstream_limits = match &row.upstream_limits {
        None => gateway_core::UpstreamLimits::default(),
        Some(text) => {
            let wire: UpstreamLimitsConfig =
                from_json(text).map_err(|e| corrupt("upstream_limits", &e))?;
            wire.validate()
                .map_err(|e| corrupt("upstream_limits", &e))?
        }
    };
    Ok((
        name,
        settings
            .with_upstream_tls(upstream_tls)
            .with_upstream_auth(upstream_auth)
            .with_upstream_limits(upstream_limits),
    ))
}

/// The column that holds the [`LoadBalancerSettings`] field named in a validation error.
fn settings_column(field: &str) -> &'static str {
    match field {
        "health_check_interval" => "health_check_interval_s",
        "health_check_timeout" => "health_check_timeout_s",
        "max_retries" => "max_retries",
        "timeout" => "timeout_s",
        "pool_size" => "pool_size",
        _ => "settings",
    }
}

fn secs_to_column(d: Duration) -> Result<i64> {
    i64::try_from(d.as_secs()).map_err(|_| Error::Invalid {
        what: "load balancer settings",
        reason: "a duration is too long to store",
    })
}

fn u32_to_column(what: &'static str, v: u32) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::Invalid {
        what,
        reason: "is too large to store",
    })
}

// === instances ===

/// A full `gateway_instances` row for `instance`.
pub(crate) fn instance_row(instance: &Instance) -> Result<instance::ActiveModel> {
    let (endpoint, command, args, env, headers, working_dir) = match &instance.spec {
        InstanceSpec::Http { url, headers } | InstanceSpec::Sse { url, headers } => (
            Some(url.as_str().to_owned()),
            None,
            "[]".to_owned(),
            "{}".to_owned(),
            to_json("headers", &HeadersRef(headers))?,
            None,
        ),
        InstanceSpec::Stdio(cmd) => {
            let working_dir = match cmd.working_dir() {
                None => None,
                Some(dir) => Some(
                    dir.to_str()
                        .filter(|d| !d.contains('\0'))
                        .ok_or(Error::Invalid {
                            what: "working directory",
                            reason: "must be valid UTF-8 without NUL bytes to be stored",
                        })?
                        .to_owned(),
                ),
            };
            (
                None,
                Some(cmd.command().to_owned()),
                to_json("args", cmd.args())?,
                to_json("env", cmd.env())?,
                "{}".to_owned(),
                working_dir,
            )
        }
    };
    Ok(instance::ActiveModel {
        id: Set(instance.id.as_str().to_owned()),
        template_name: Set(instance.template.as_str().to_owned()),
        transport: Set(instance.spec.transport().as_str().to_owned()),
        endpoint: Set(endpoint),
        command: Set(command),
        args: Set(args),
        env: Set(env),
        headers: Set(headers),
        working_dir: Set(working_dir),
        weight: Set(u32_to_column("weight", instance.weight.get())?),
        metadata: Set(to_json("metadata", &instance.metadata)?),
        created_at_ms: Set(instance.created_at_ms),
        updated_at_ms: Set(instance.updated_at_ms),
    })
}

/// The instance stored in `row`.
pub(crate) fn instance_from_row(row: instance::Model) -> Result<Instance> {
    let key = row.id.as_str();
    let corrupt = |field, reason: &dyn fmt::Display| Error::corrupt(INSTANCES, key, field, reason);
    let id = InstanceId::parse(key).map_err(|e| corrupt("id", &e))?;
    let template =
        TemplateName::parse(&row.template_name).map_err(|e| corrupt("template_name", &e))?;
    let spec = match row.transport.as_str() {
        transport @ ("http" | "sse") => {
            let endpoint = row
                .endpoint
                .as_deref()
                .ok_or_else(|| corrupt("endpoint", &"is missing"))?;
            let url = EndpointUrl::parse(endpoint).map_err(|e| corrupt("endpoint", &e))?;
            let HeaderPairs(pairs) = from_json(&row.headers).map_err(|e| corrupt("headers", &e))?;
            let headers = Headers::new(pairs).map_err(|e| corrupt("headers", &e))?;
            if transport == "http" {
                InstanceSpec::Http { url, headers }
            } else {
                InstanceSpec::Sse { url, headers }
            }
        }
        "stdio" => {
            let command = row
                .command
                .as_deref()
                .ok_or_else(|| corrupt("command", &"is missing"))?;
            let args: Vec<String> = from_json(&row.args).map_err(|e| corrupt("args", &e))?;
            let env: BTreeMap<String, String> =
                from_json(&row.env).map_err(|e| corrupt("env", &e))?;
            let working_dir = row.working_dir.as_deref().map(PathBuf::from);
            let cmd = StdioCommand::new(command, args, env, working_dir).map_err(|e| {
                let field = match e {
                    ValidationError::InvalidEnvName { .. } => "env",
                    _ => "command",
                };
                corrupt(field, &e)
            })?;
            InstanceSpec::Stdio(cmd)
        }
        _ => return Err(corrupt("transport", &"is not http, sse or stdio")),
    };
    let weight = Weight::new(i64::from(row.weight)).map_err(|e| corrupt("weight", &e))?;
    let metadata: Map<String, Value> =
        from_json(&row.metadata).map_err(|e| corrupt("metadata", &e))?;
    Ok(Instance {
        id,
        template,
        spec,
        weight,
        metadata,
        created_at_ms: row.created_at_ms,
        updated_at_ms: row.updated_at_ms,
    })
}

// === JSON columns ===

fn to_json(what: &'static str, value: &(impl Serialize + ?Sized)) -> Result<String> {
    serde_json::to_string(value).map_err(|_| Error::Invalid {
        what,
        reason: "cannot be encoded as JSON",
    })
}

fn from_json<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, JsonError> {
    serde_json::from_str(text).map_err(JsonError)
}

/// A JSON decoding failure that prints its position and kind but not serde's message,
/// which can quote the offending value (an env or header secret).
struct JsonError(serde_json::Error);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0.classify() {
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Eof => "truncated JSON",
            serde_json::error::Category::Data => "JSON of the wrong shape",
            serde_json::error::Category::Io => "unreadable JSON",
        };
        write!(
            f,
            "is {kind} (line {}, column {})",
            self.0.line(),
            self.0.column()
        )
    }
}

/// Serializes [`Headers`] as a JSON object in their order, duplicates included.
struct HeadersRef<'a>(&'a Headers);

impl Serialize for HeadersRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter())
    }
}

/// A JSON object read as its (name, value) pairs in document order, duplicates kept, so
/// headers round-trip exactly.
struct HeaderPairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for HeaderPairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PairsVisitor;

        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = HeaderPairs;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of header names to string values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderPairs, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(HeaderPairs(pairs))
            }
        }

        d.deserialize_map(PairsVisitor)
    }
}

#[cfg(test)]
mod tests;
