//! `mcpp gateway login USER [--password P]`: logs in and stores the token (mode 0600) for
//! the other verbs. `--oidc ISSUER` logs in through an identity provider instead (see
//! `oidc_login`).

use crate::{args::LoginArgs, failure};

/// Logs in and stores the token.
pub(crate) async fn run(args: LoginArgs) -> anyhow::Result<()> {
    if let Some(issuer) = &args.oidc {
        return super::oidc_login::run(&args, issuer).await;
    }
    let url = &args.client.gateway_url;
    // clap requires a user name without --oidc.
    let username = args.username.clone().unwrap_or_default();
    let password = super::credentials::password(
        args.password.clone(),
        &format!("Password for {username}: "),
        false,
    )?;
    // Logging in needs no credentials: never send a stale stored token.
    let client = gateway_client::GatewayClient::new(url).map_err(|e| failure::explain(&e, url))?;
    let token =
        client
            .login(&username, &password)
            .await
            .map_err(|e| match e.is_rate_limited() {
                true => {
                    failure::explain_with_hint(&e, url, "too many failed logins: wait and retry")
                }
                false => failure::explain(&e, url),
            })?;
    let path = super::credentials::store_token(&token.access_token)?;
    // A gateway token replaces any identity-provider session.
    super::credentials::remove_session()?;
    if args.client.json {
        crate::output::print_json(&serde_json::json!({
            "username": username,
            "expires_in": token.expires_in,
            "token_file": path,
        }))
    } else {
        println!(
            "logged in as {} (token valid for {}); token stored in {}",
            username,
            crate::output::seconds(token.expires_in),
            path.display()
        );
        Ok(())
    }
}
