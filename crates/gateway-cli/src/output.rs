//! What the client verbs print: aligned plain-text tables, or the gateway's JSON with
//! `--json`. Rendering is pure (strings in, string out) so it is tested without a gateway.

use std::fmt::Write as _;

use gateway_core::api::InstanceInfo;
use serde::Serialize;
use serde_json::Value;

mod auth;

pub(crate) use auth::{api_keys, created_key, created_user, seconds, users};

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| anyhow::anyhow!("cannot encode the output: {e}"))?;
    println!("{text}");
    Ok(())
}

/// One line confirming a registration.
pub(crate) fn registered(instance: &InstanceInfo) -> String {
    format!(
        "registered instance {} in template {} ({} {}, weight {}, status {})",
        instance.id,
        instance.template_name,
        instance.transport,
        target(instance.endpoint.as_deref(), instance.command.as_deref()),
        instance.weight,
        instance.status,
    )
}

/// The `status` report: a summary block, then one table row per instance.
pub(crate) fn status(gateway_url: &str, health: &Value, registry: &Value) -> String {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("?").to_owned();
    let count = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);

    let mut summary = Table::new(["", ""]);
    let version = health.get("version").and_then(Value::as_str);
    summary.row([
        "gateway".to_owned(),
        match version {
            Some(v) => format!("{gateway_url} (version {v})"),
            None => gateway_url.to_owned(),
        },
    ]);
    summary.row([
        "status".to_owned(),
        format!(
            "{} (database: {})",
            text(health, "status"),
            text(health, "database")
        ),
    ]);
    if let Some(uptime) = health.get("uptime").and_then(Value::as_f64) {
        summary.row(["uptime".to_owned(), duration(uptime)]);
    }
    summary.row([
        "templates".to_owned(),
        count(registry, "total_templates").to_string(),
    ]);
    summary.row([
        "instances".to_owned(),
        format!(
            "{} ({} healthy, {} unhealthy)",
            count(registry, "total_instances"),
            count(registry, "healthy_instances"),
            count(registry, "unhealthy_instances"),
        ),
    ]);
    let mut out = summary.render_body();

    let mut instances = Table::new([
        "TEMPLATE",
        "STRATEGY",
        "INSTANCE",
        "TRANSPORT",
        "TARGET",
        "WEIGHT",
        "STATUS",
    ]);
    let templates = registry.get("templates").and_then(Value::as_object);
    for (name, template) in templates.into_iter().flatten() {
        let strategy = text(template, "load_balancer_strategy");
        let list = template.get("instances").and_then(Value::as_array);
        if list.is_none_or(|l| l.is_empty()) {
            instances.row([
                name.clone(),
                strategy.clone(),
                "-".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
            ]);
        }
        for instance in list.into_iter().flatten() {
            let command: Option<Vec<String>> = instance
                .get("command")
                .and_then(|c| serde_json::from_value(c.clone()).ok());
            let endpoint = instance.get("endpoint").and_then(Value::as_str);
            instances.row([
                name.clone(),
                strategy.clone(),
                text(instance, "id"),
                text(instance, "transport"),
                target(endpoint, command.as_deref()),
                instance
                    .get("weight")
                    .map_or_else(|| "?".to_owned(), Value::to_string),
                text(instance, "status"),
            ]);
        }
    }
    out.push('\n');
    if instances.is_empty() {
        out.push_str("no instances registered (add one with `mcpp gateway register TEMPLATE --endpoint URL`)\n");
    } else {
        out.push_str(&instances.render());
    }
    out
}

/// Where an instance is: its URL, or its command line.
fn target(endpoint: Option<&str>, command: Option<&[String]>) -> String {
    match (endpoint, command) {
        (Some(url), _) => url.to_owned(),
        (None, Some(command)) => command.join(" "),
        (None, None) => "-".to_owned(),
    }
}

/// `3725.4` seconds as `1h2m5s`.
fn duration(secs: f64) -> String {
    let total = secs.max(0.0) as u64;
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Left-aligned columns separated by two spaces; no trailing whitespace.
struct Table<const N: usize> {
    header: [String; N],
    rows: Vec<[String; N]>,
}

impl<const N: usize> Table<N> {
    fn new(header: [&str; N]) -> Self {
        Self {
            header: header.map(str::to_owned),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: [String; N]) {
        self.rows.push(cells);
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Header and rows.
    fn render(&self) -> String {
        self.render_rows(std::iter::once(&self.header).chain(&self.rows))
    }

    /// Rows only (for key/value blocks).
    fn render_body(&self) -> String {
        self.render_rows(self.rows.iter())
    }

    fn render_rows<'a>(&'a self, rows: impl Iterator<Item = &'a [String; N]> + Clone) -> String {
        let mut widths = [0usize; N];
        for row in rows.clone() {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in rows {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
                if i + 1 < N {
                    let _ = write!(line, "{cell:<width$}  ");
                } else {
                    line.push_str(cell);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests;
