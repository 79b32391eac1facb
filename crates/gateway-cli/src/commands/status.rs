//! `mcpp gateway status`: gateway health plus a summary of the registry.

use anyhow::bail;
use serde_json::json;

use crate::{args::StatusArgs, failure, output};

/// Prints health and registry; fails (exit 1) when the gateway reports itself unhealthy.
pub(crate) async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let url = &args.client.gateway_url;
    let client = super::connect(&args.client)?;
    let health = client
        .health()
        .await
        .map_err(|e| failure::explain(&e, url))?;
    let registry = client
        .registry()
        .await
        .map_err(|e| failure::explain(&e, url))?;
    if args.client.json {
        output::print_json(&json!({
            "gateway_url": url,
            "health": health,
            "registry": registry,
        }))?;
    } else {
        print!("{}", output::status(url, &health, &registry));
    }
    if health.get("status").and_then(|s| s.as_str()) == Some("unhealthy") {
        bail!("the gateway at {url} is unhealthy (database unreachable); see its log");
    }
    Ok(())
}
