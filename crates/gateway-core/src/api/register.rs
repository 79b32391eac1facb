//! `POST /gateway/register` (and its alias `POST /gateway/templates/{t}/instances`).

use std::{collections::BTreeMap, path::PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::FieldError;
use crate::{
    EndpointUrl, Headers, Instance, InstanceId, InstanceSpec, StdioCommand, TemplateName, Weight,
};

/// A `command` given as a shell-like string (`"python server.py"`) or as a list
/// (`["python", "server.py"]`, the predecessor's shape).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CommandLine {
    /// Split like a shell would (quotes, backslashes; no expansion).
    Line(String),
    /// Program and arguments.
    List(Vec<String>),
}

/// The registration body. Field names follow the guide; the predecessor's `id` and
/// `env_vars` are accepted as aliases.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterInstance {
    /// The template to add the instance to (created on first use). Optional in the body
    /// of `POST /gateway/templates/{t}/instances`, where the path names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<String>,
    /// The instance id; generated (`{template}-{n}`) when absent.
    #[serde(default, alias = "id", skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Upstream URL for `http` / `sse` instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Command for `stdio` instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandLine>,
    /// Extra arguments appended to `command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Working directory of a stdio child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Environment of a stdio child.
    #[serde(default, alias = "env_vars", skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    /// Extra HTTP headers sent upstream (e.g. upstream credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// `http`, `sse` or `stdio`; inferred when absent (`command` → stdio, an endpoint
    /// ending in `/sse` → sse, else http).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// Weight for the weighted strategy (1..=10000, default 1).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    pub weight: Option<i64>,
    /// Free-form metadata (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Map<String, Value>>,
}

impl RegisterInstance {
    /// Validates the body into a template name, an optional id and the parts of an
    /// [`Instance`]. `path_template` is the template named by the URL, if any.
    pub fn validate(self, path_template: Option<&str>) -> Result<ValidRegistration, FieldError> {
        let template = match (path_template, self.template_name.as_deref()) {
            (Some(p), Some(b)) if p != b => {
                return Err(FieldError::new(
                    "template_name",
                    "does not match the template in the URL",
                ));
            }
            (Some(name), _) | (None, Some(name)) => name,
            (None, None) => return Err(FieldError::new("template_name", "is required")),
        };
        let template = TemplateName::parse(template)
            .map_err(|e| FieldError::new("template_name", e.to_string()))?;
        let id = self
            .instance_id
            .as_deref()
            .map(InstanceId::parse)
            .transpose()
            .map_err(|e| FieldError::new("instance_id", e.to_string()))?;
        let weight = match self.weight {
            Some(w) => Weight::new(w).map_err(|e| FieldError::new("weight", e.to_string()))?,
            None => Weight::ONE,
        };
        let transport = match (self.transport.as_deref(), &self.endpoint, &self.command) {
            (_, Some(_), Some(_)) => {
                return Err(FieldError::new(
                    "command",
                    "give either an endpoint or a command, not both",
                ));
            }
            (Some(t), ..) => t.to_ascii_lowercase(),
            (None, Some(url), None) if url.trim_end_matches('/').ends_with("/sse") => {
                "sse".to_owned()
            }
            (None, Some(_), None) => "http".to_owned(),
            (None, None, Some(_)) => "stdio".to_owned(),
            (None, None, None) => {
                return Err(FieldError::new(
                    "endpoint",
                    "an endpoint (http/sse) or a command (stdio) is required",
                ));
            }
        };
        let headers = Headers::new(self.headers.unwrap_or_default())
            .map_err(|e| FieldError::new("headers", e.to_string()))?;
        let spec = match transport.as_str() {
            "http" | "streamable-http" | "streamable_http" | "sse" => {
                let url = self
                    .endpoint
                    .ok_or_else(|| FieldError::new("endpoint", "is required for http and sse"))?;
                let url = EndpointUrl::parse(&url)
                    .map_err(|e| FieldError::new("endpoint", e.to_string()))?;
                if self.command.is_some() {
                    return Err(FieldError::new("command", "is only for stdio instances"));
                }
                if transport == "sse" {
                    InstanceSpec::Sse { url, headers }
                } else {
                    InstanceSpec::Http { url, headers }
                }
            }
            "stdio" => {
                if self.endpoint.is_some() {
                    return Err(FieldError::new(
                        "endpoint",
                        "is only for http and sse instances",
                    ));
                }
                let env = self.env.unwrap_or_default();
                let dir = self.working_dir.map(PathBuf::from);
                let extra = self.args.unwrap_or_default();
                let command = match self.command {
                    Some(CommandLine::Line(line)) => {
                        StdioCommand::from_shell_words(&line, env, dir).map(|c| (c, extra))
                    }
                    Some(CommandLine::List(mut list)) if !list.is_empty() => {
                        let program = list.remove(0);
                        list.extend(extra);
                        StdioCommand::new(program, list, env, dir).map(|c| (c, Vec::new()))
                    }
                    _ => return Err(FieldError::new("command", "is required for stdio")),
                };
                let (command, extra) =
                    command.map_err(|e| FieldError::new("command", e.to_string()))?;
                let command = if extra.is_empty() {
                    command
                } else {
                    let mut args = command.args().to_vec();
                    args.extend(extra);
                    StdioCommand::new(
                        command.command(),
                        args,
                        command.env().clone(),
                        command.working_dir().map(PathBuf::from),
                    )
                    .map_err(|e| FieldError::new("args", e.to_string()))?
                };
                InstanceSpec::Stdio(command)
            }
            other => {
                return Err(FieldError::new(
                    "transport",
                    format!(
                        "unknown transport {:?}: expected http, sse or stdio",
                        other.chars().take(32).collect::<String>()
                    ),
                ));
            }
        };
        Ok(ValidRegistration {
            template,
            id,
            spec,
            weight,
            metadata: self.metadata.unwrap_or_default(),
        })
    }
}

/// A validated registration, before the gateway assigns an id and timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRegistration {
    /// The template.
    pub template: TemplateName,
    /// The requested id, if any.
    pub id: Option<InstanceId>,
    /// How to reach the instance.
    pub spec: InstanceSpec,
    /// Its weight.
    pub weight: Weight,
    /// Its metadata.
    pub metadata: Map<String, Value>,
}

impl ValidRegistration {
    /// The instance, with `id` and the registration time.
    pub fn into_instance(self, id: InstanceId, now_ms: i64) -> Instance {
        Instance {
            id,
            template: self.template,
            spec: self.spec,
            weight: self.weight,
            metadata: self.metadata,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ValidRegistration, FieldError> {
        serde_json::from_str::<RegisterInstance>(json)
            .unwrap()
            .validate(None)
    }

    #[test]
    fn infers_transports() {
        let r = parse(r#"{"template_name":"t","endpoint":"http://127.0.0.1:1/mcp"}"#).unwrap();
        assert!(matches!(r.spec, InstanceSpec::Http { .. }));
        let r = parse(r#"{"template_name":"t","endpoint":"http://127.0.0.1:1/sse"}"#).unwrap();
        assert!(matches!(r.spec, InstanceSpec::Sse { .. }));
        let r = parse(r#"{"template_name":"t","command":"python server.py","args":["--x"],"env_vars":{"A":"1"},"id":"i1"}"#).unwrap();
        let InstanceSpec::Stdio(cmd) = &r.spec else {
            panic!()
        };
        assert_eq!(
            (cmd.command(), cmd.args()),
            ("python", &["server.py".to_owned(), "--x".to_owned()][..])
        );
        assert_eq!(cmd.env()["A"], "1");
        assert_eq!(r.id.unwrap().as_str(), "i1");
        let r = parse(r#"{"template_name":"t","command":["node","s.js"]}"#).unwrap();
        assert!(matches!(r.spec, InstanceSpec::Stdio(_)));
    }

    #[test]
    fn errors_name_the_field() {
        for (body, field) in [
            (r#"{"endpoint":"http://h/mcp"}"#, "template_name"),
            (
                r#"{"template_name":"a/b","endpoint":"http://h/mcp"}"#,
                "template_name",
            ),
            (r#"{"template_name":"t"}"#, "endpoint"),
            (r#"{"template_name":"t","endpoint":"ftp://h"}"#, "endpoint"),
            (
                r#"{"template_name":"t","endpoint":"http://h","command":"x"}"#,
                "command",
            ),
            (
                r#"{"template_name":"t","endpoint":"http://h","weight":0}"#,
                "weight",
            ),
            (
                r#"{"template_name":"t","endpoint":"http://h","transport":"carrier-pigeon"}"#,
                "transport",
            ),
            (
                r#"{"template_name":"t","command":"'unterminated"}"#,
                "command",
            ),
            (
                r#"{"template_name":"t","endpoint":"http://h","instance_id":"../x"}"#,
                "instance_id",
            ),
        ] {
            assert_eq!(parse(body).unwrap_err().field, field, "{body}");
        }
        assert!(
            serde_json::from_str::<RegisterInstance>(r#"{"template_name":"t","bogus":1}"#).is_err()
        );
    }
}
