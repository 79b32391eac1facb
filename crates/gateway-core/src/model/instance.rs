//! How to reach an instance: [`InstanceSpec`] and its parts.

use std::{collections::BTreeMap, fmt, path::PathBuf};

use crate::error::ValidationError;

/// The transport and address of one upstream MCP server instance.
#[derive(Clone, PartialEq, Eq)]
pub enum InstanceSpec {
    /// MCP Streamable HTTP (2025-03-26 and later, including 2026-07-28).
    Http {
        /// The MCP endpoint, e.g. `http://127.0.0.1:7071/mcp`.
        url: EndpointUrl,
        /// Extra request headers, e.g. upstream credentials. Never logged.
        headers: Headers,
    },
    /// The legacy HTTP+SSE transport (2024-11-05): GET the stream, POST to the announced URL.
    Sse {
        /// The SSE stream URL, e.g. `http://127.0.0.1:7071/sse`.
        url: EndpointUrl,
        /// Extra request headers. Never logged.
        headers: Headers,
    },
    /// A child process speaking line-delimited JSON-RPC on stdin/stdout.
    Stdio(StdioCommand),
}

impl InstanceSpec {
    /// The transport this spec uses.
    pub fn transport(&self) -> Transport {
        match self {
            InstanceSpec::Http { .. } => Transport::Http,
            InstanceSpec::Sse { .. } => Transport::Sse,
            InstanceSpec::Stdio(_) => Transport::Stdio,
        }
    }
}

/// How the gateway talks to an instance: the kind of an [`InstanceSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// MCP Streamable HTTP.
    Http,
    /// The legacy HTTP+SSE transport (2024-11-05).
    Sse,
    /// A child process on stdin/stdout.
    Stdio,
}

impl Transport {
    /// The wire name: `"http"`, `"sse"` or `"stdio"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::Sse => "sse",
            Transport::Stdio => "stdio",
        }
    }

    /// The OpenTelemetry `network.transport` of the connection: `pipe` for stdio,
    /// `tcp` for HTTP and SSE.
    pub fn network(self) -> &'static str {
        match self {
            Transport::Stdio => "pipe",
            Transport::Http | Transport::Sse => "tcp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for InstanceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceSpec::Http { url, headers } => f
                .debug_struct("Http")
                .field("url", url)
                .field("headers", headers)
                .finish(),
            InstanceSpec::Sse { url, headers } => f
                .debug_struct("Sse")
                .field("url", url)
                .field("headers", headers)
                .finish(),
            InstanceSpec::Stdio(cmd) => f.debug_tuple("Stdio").field(cmd).finish(),
        }
    }
}

/// An absolute `http://` or `https://` URL with a host.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    /// Validates the URL's shape (scheme, host, no whitespace or fragment). Full
    /// parsing happens in the transport, which owns the HTTP types.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let reject = |reason| ValidationError::InvalidUrl {
            value: value.chars().take(200).collect(),
            reason,
        };
        let rest = value
            .strip_prefix("http://")
            .or_else(|| value.strip_prefix("https://"))
            .ok_or_else(|| reject("must start with http:// or https://"))?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        if host.is_empty() || host.starts_with(':') {
            return Err(reject("has no host"));
        }
        if authority.contains('@') {
            return Err(reject("must not embed credentials; use headers"));
        }
        if value.len() > 2048 {
            return Err(reject("is longer than 2048 bytes"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(reject("contains whitespace or control characters"));
        }
        if value.contains('#') {
            return Err(reject("must not contain a fragment"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Extra HTTP headers sent to an upstream. Values may be credentials: `Debug` shows
/// names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// Validates names (RFC 9110 tokens) and values (visible ASCII and spaces).
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Self, ValidationError> {
        let mut out = Vec::new();
        for (name, value) in pairs {
            let reject = |reason| ValidationError::InvalidHeader {
                name: name.chars().take(100).collect(),
                reason,
            };
            let is_token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if name.is_empty() || !name.bytes().all(is_token) {
                return Err(reject("name is not a valid HTTP token"));
            }
            if !value
                .bytes()
                .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
            {
                return Err(reject("value must be visible ASCII"));
            }
            out.push((name, value));
        }
        Ok(Self(out))
    }

    /// The (name, value) pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Whether there are no extra headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, _)| (n, "<redacted>")))
            .finish()
    }
}

/// A child process to spawn for a stdio instance.
///
/// The child gets a clean environment: the gateway's allowlisted variables plus `env`.
/// `Debug` redacts env values, which often hold API tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct StdioCommand {
    command: String,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    working_dir: Option<PathBuf>,
}

impl StdioCommand {
    /// Validates and builds a command. `command` is a program name or path (not a
    /// shell line; see [`StdioCommand::from_shell_words`]).
    pub fn new(
        command: impl Into<String>,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        working_dir: Option<PathBuf>,
    ) -> Result<Self, ValidationError> {
        let command = command.into();
        if command.trim().is_empty() {
            return Err(ValidationError::InvalidCommand {
                reason: "command must not be empty",
            });
        }
        if command.contains('\0') || args.iter().any(|a| a.contains('\0')) {
            return Err(ValidationError::InvalidCommand {
                reason: "command and arguments must not contain NUL bytes",
            });
        }
        for (name, value) in &env {
            if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
                return Err(ValidationError::InvalidEnvName { name: name.clone() });
            }
        }
        Ok(Self {
            command,
            args,
            env,
            working_dir,
        })
    }

    /// Splits a command line such as `python server.py --flag "a b"` into program and
    /// arguments (POSIX-like quoting with `'`, `"` and `\`; no expansion of any kind).
    pub fn from_shell_words(
        line: &str,
        env: BTreeMap<String, String>,
        working_dir: Option<PathBuf>,
    ) -> Result<Self, ValidationError> {
        let mut words = split_words(line)?.into_iter();
        let command = words.next().ok_or(ValidationError::InvalidCommand {
            reason: "command must not be empty",
        })?;
        Self::new(command, words.collect(), env, working_dir)
    }

    /// The program to run.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Its arguments.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// Variables set in the child on top of the allowlisted ones.
    pub fn env(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// The child's working directory (the gateway's when `None`).
    pub fn working_dir(&self) -> Option<&std::path::Path> {
        self.working_dir.as_deref()
    }
}

impl fmt::Debug for StdioCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdioCommand")
            .field("command", &self.command)
            .field("args", &self.args)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("working_dir", &self.working_dir)
            .finish()
    }
}

fn split_words(line: &str) -> Result<Vec<String>, ValidationError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err(unterminated()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => current.push(c),
                            Some(c) => {
                                current.push('\\');
                                current.push(c);
                            }
                            None => return Err(unterminated()),
                        },
                        Some(c) => current.push(c),
                        None => return Err(unterminated()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    current.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

fn unterminated() -> ValidationError {
    ValidationError::InvalidCommand {
        reason: "unterminated quote",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(EndpointUrl::parse("http://127.0.0.1:7071/mcp").is_ok());
        assert!(EndpointUrl::parse("https://example.com").is_ok());
        for bad in [
            "ftp://x",
            "http://",
            "http:///x",
            "http://u:p@h/",
            "http://h/a b",
            "http://h/#f",
        ] {
            assert!(EndpointUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_redacted_in_debug() {
        let h = Headers::new([("Authorization".into(), "Bearer s3cret".into())]).unwrap();
        let shown = format!("{h:?}");
        assert!(!shown.contains("s3cret") && shown.contains("Authorization"));
        assert!(Headers::new([("Bad Name".into(), "x".into())]).is_err());
        assert!(Headers::new([("X".into(), "line\nbreak".into())]).is_err());
    }

    #[test]
    fn shell_words() {
        let env = BTreeMap::from([("TOKEN".to_owned(), "s3cret".to_owned())]);
        let cmd =
            StdioCommand::from_shell_words(r#"python "my server.py" --x 'a b' c\ d"#, env, None)
                .unwrap();
        assert_eq!(cmd.command(), "python");
        assert_eq!(cmd.args(), ["my server.py", "--x", "a b", "c d"]);
        assert!(!format!("{cmd:?}").contains("s3cret"));
        assert!(StdioCommand::from_shell_words("  ", BTreeMap::new(), None).is_err());
        assert!(StdioCommand::from_shell_words("a 'b", BTreeMap::new(), None).is_err());
    }
}
