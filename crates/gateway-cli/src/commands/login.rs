//! `mcpp gateway login USER [--password P]`: logs in and stores the token (mode 0600) for
//! the other verbs.

use crate::{args::LoginArgs, failure};

/// Logs in and stores the token.
pub(crate) async fn run(args: LoginArgs) -> anyhow::Result<()> {
    let url = &args.client.gateway_url;
    let password = super::credentials::password(
        args.password.clone(),
        &format!("Password for {}: ", args.username),
        false,
    )?;
    // Logging in needs no credentials: never send a stale stored token.
    let client = gateway_client::GatewayClient::new(url).map_err(|e| failure::explain(&e, url))?;
    let token =
        client
            .login(&args.username, &password)
            .await
            .map_err(|e| match e.is_rate_limited() {
                true => {
                    failure::explain_with_hint(&e, url, "too many failed logins: wait and retry")
                }
                false => failure::explain(&e, url),
            })?;
    let path = super::credentials::store_token(&token.access_token)?;
    if args.client.json {
        crate::output::print_json(&serde_json::json!({
            "username": args.username,
            "expires_in": token.expires_in,
            "token_file": path,
        }))
    } else {
        println!(
            "logged in as {} (token valid for {}); token stored in {}",
            args.username,
            crate::output::seconds(token.expires_in),
            path.display()
        );
        Ok(())
    }
}
