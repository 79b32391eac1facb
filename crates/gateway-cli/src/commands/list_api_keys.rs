//! `mcpp gateway list-api-keys [--owner USER]`.

use crate::{args::ListApiKeysArgs, failure, output};

/// Prints the caller's keys (admins: everybody's, or `--owner`'s).
pub(crate) async fn run(args: ListApiKeysArgs) -> anyhow::Result<()> {
    let url = &args.client.gateway_url;
    let client = super::connect(&args.client)?;
    let keys = client
        .api_keys(args.owner.as_deref())
        .await
        .map_err(|e| failure::explain(&e, url))?;
    if args.client.json {
        output::print_json(&keys)
    } else {
        print!("{}", output::api_keys(&keys));
        Ok(())
    }
}
