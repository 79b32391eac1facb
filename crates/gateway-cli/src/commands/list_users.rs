//! `mcpp gateway list-users`.

use crate::{args::ListUsersArgs, failure, output};

/// Prints every user (admins).
pub(crate) async fn run(args: ListUsersArgs) -> anyhow::Result<()> {
    let url = &args.client.gateway_url;
    let client = super::connect(&args.client)?;
    let users = client
        .users()
        .await
        .map_err(|e| failure::explain(&e, url))?;
    if args.client.json {
        output::print_json(&users)
    } else {
        print!("{}", output::users(&users));
        Ok(())
    }
}
