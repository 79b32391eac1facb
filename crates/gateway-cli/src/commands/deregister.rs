//! `mcpp gateway deregister TEMPLATE INSTANCE_ID`.

use crate::{args::DeregisterArgs, failure, output};

/// Removes the instance and confirms.
pub(crate) async fn run(args: DeregisterArgs) -> anyhow::Result<()> {
    let url = &args.client.gateway_url;
    let client = super::connect(&args.client)?;
    let reply = client
        .deregister(&args.template, &args.instance_id)
        .await
        .map_err(|e| match e.is_not_found() {
            true => failure::explain_with_hint(
                &e,
                url,
                "`mcpp gateway status` lists the registered instances",
            ),
            false => failure::explain(&e, url),
        })?;
    if args.client.json {
        output::print_json(&reply)
    } else {
        println!(
            "deregistered instance {} from template {}",
            args.instance_id, args.template
        );
        Ok(())
    }
}
