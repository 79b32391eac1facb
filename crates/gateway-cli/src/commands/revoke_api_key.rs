//! `mcpp gateway revoke-api-key ID`.

use crate::{args::RevokeApiKeyArgs, failure, output};

/// Revokes the key and confirms.
pub(crate) async fn run(args: RevokeApiKeyArgs) -> anyhow::Result<()> {
    let url = &args.client.gateway_url;
    let client = super::connect(&args.client)?;
    let id = args.id.trim_start_matches("mcpgw_");
    let id = id.split('_').next().unwrap_or(id);
    let key = client
        .revoke_api_key(id)
        .await
        .map_err(|e| match e.is_not_found() {
            true => {
                failure::explain_with_hint(&e, url, "`mcpp gateway list-api-keys` lists your keys")
            }
            false => failure::explain(&e, url),
        })?;
    if args.client.json {
        output::print_json(&key)
    } else {
        println!(
            "revoked API key {} ({}, owner {})",
            key.id, key.name, key.owner
        );
        Ok(())
    }
}
