//! `mcpp gateway create-api-key NAME [--role R] [--scopes ..] [--templates ..]
//! [--expires 90d] [--owner USER] [--rate-limit N]`: the key is printed once.

use gateway_core::api::CreateApiKey;

use crate::{args::CreateApiKeyArgs, failure, output};

/// Creates the key and prints it (the only time it is shown).
pub(crate) async fn run(args: CreateApiKeyArgs) -> anyhow::Result<()> {
    let url = &args.client.gateway_url;
    let client = super::connect(&args.client)?;
    let request = CreateApiKey {
        name: args.name.clone(),
        owner: args.owner.clone(),
        role: args.role.map(|r| r.as_str().to_owned()),
        scopes: (!args.scopes.is_empty()).then(|| args.scopes.clone()),
        templates: (!args.templates.is_empty()).then(|| args.templates.clone()),
        expires_in: args.expires,
        rate_limit: args.rate_limit,
    };
    let created = client
        .create_api_key(&request)
        .await
        .map_err(|e| failure::explain(&e, url))?;
    if args.client.json {
        output::print_json(&created)
    } else {
        print!("{}", output::created_key(&created));
        Ok(())
    }
}
