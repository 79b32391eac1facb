//! Turns SDK errors into messages that say what happened and what to do next.

use std::error::Error as _;

/// The CLI's message for a failed gateway call to `gateway_url`.
pub(crate) fn explain(err: &gateway_client::Error, gateway_url: &str) -> anyhow::Error {
    anyhow::anyhow!(message(err, gateway_url))
}

/// [`explain`], with a `hint:` line suggesting the next step.
pub(crate) fn explain_with_hint(
    err: &gateway_client::Error,
    gateway_url: &str,
    hint: &str,
) -> anyhow::Error {
    anyhow::anyhow!("{}\nhint: {hint}", message(err, gateway_url))
}

fn message(err: &gateway_client::Error, gateway_url: &str) -> String {
    if err.is_connect() {
        return format!(
            "cannot reach the gateway at {gateway_url}: {} — is it running? (mcpp gateway start)",
            root_cause(err)
        );
    }
    if err.is_timeout() {
        return format!("the gateway at {gateway_url} did not answer in time");
    }
    if err.is_builder() {
        return match err.source() {
            Some(cause) => format!("{err} ({cause}); check --gateway-url or MCP_GATEWAY_URL"),
            None => format!("{err}; check --gateway-url or MCP_GATEWAY_URL"),
        };
    }
    if err.is_unauthorized() {
        let detail = err.detail().unwrap_or("authentication required");
        return format!(
            "{detail}\nhint: log in with `mcpp gateway login USER`, or pass --api-key \
             (MCP_GATEWAY_API_KEY)"
        );
    }
    match (err.field(), err.detail()) {
        // The server's detail usually starts with the field already.
        (Some(field), Some(detail)) if !detail.starts_with(field) => format!("{field}: {detail}"),
        (_, Some(detail)) => detail.to_owned(),
        (_, None) if err.status().is_some() => {
            format!("the gateway at {gateway_url} answered {err}")
        }
        (_, None) => match err.source() {
            Some(cause) => format!("{err}: {cause}"),
            None => err.to_string(),
        },
    }
}

/// The innermost cause, as a short lower-case phrase ("connection refused").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    // io::Error appends " (os error N)"; the number helps nobody here.
    let text = match text.find(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_os_error_numbers_and_capitals() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let text = io.to_string();
        let expected = text.chars().next().unwrap().to_lowercase().to_string() + &text[1..];
        assert_eq!(root_cause(&io), expected);
        let os = std::io::Error::from_raw_os_error(111);
        assert!(!root_cause(&os).contains("os error"), "{}", root_cause(&os));
    }

    #[test]
    fn builder_errors_point_at_the_url() {
        let err = gateway_client::GatewayClient::new("localhost:8080").unwrap_err();
        let text = message(&err, "localhost:8080");
        assert!(text.contains("--gateway-url"), "{text}");
    }
}
