//! One file per verb. `start` runs the server in-process; the others are clients of a
//! running gateway and share [`connect`] and [`block_on`] (`create-user --database`
//! writes to the database through `gateway_server` instead).

mod background;
mod create_api_key;
mod create_user;
pub(crate) mod credentials;
mod db;
mod deregister;
mod list_api_keys;
mod list_users;
mod login;
mod logout;
mod oidc_login;
mod register;
mod revoke_api_key;
pub(crate) mod start;
mod status;

use gateway_client::GatewayClient;

use crate::args::{ClientArgs, Command, GatewayCommand};

/// Runs a parsed `mcpp` command.
pub(crate) fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Gateway(GatewayCommand::Start(args)) => start::run(args),
        Command::Gateway(GatewayCommand::Register(args)) => block_on(register::run(args)),
        Command::Gateway(GatewayCommand::Deregister(args)) => block_on(deregister::run(args)),
        Command::Gateway(GatewayCommand::Status(args)) => block_on(status::run(args)),
        Command::Gateway(GatewayCommand::CreateUser(args)) => block_on(create_user::run(args)),
        Command::Gateway(GatewayCommand::CreateApiKey(args)) => block_on(create_api_key::run(args)),
        // Logging in needs no stored token, so it does not refresh one.
        Command::Gateway(GatewayCommand::Login(args)) => runtime()?.block_on(login::run(args)),
        Command::Gateway(GatewayCommand::Logout(args)) => logout::run(args),
        Command::Gateway(GatewayCommand::ListUsers(args)) => block_on(list_users::run(args)),
        Command::Gateway(GatewayCommand::ListApiKeys(args)) => block_on(list_api_keys::run(args)),
        Command::Gateway(GatewayCommand::RevokeApiKey(args)) => block_on(revoke_api_key::run(args)),
        Command::Gateway(GatewayCommand::Db(command)) => block_on(db::run(command)),
    }
}

/// Runs a client verb on a single-threaded runtime (one request at a time), after
/// refreshing a stored identity-provider token that is about to expire.
fn block_on(verb: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        oidc_login::refresh_stored_token().await;
        verb.await
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}

/// A client for the gateway named by `--gateway-url`, sending the credentials of
/// `--api-key`, `--token` or the stored login token (in that order), if any.
fn connect(args: &ClientArgs) -> anyhow::Result<GatewayClient> {
    let mut builder = GatewayClient::builder(&args.gateway_url);
    if let Some(path) = &args.ca_bundle {
        builder = builder.ca_bundle(path);
    }
    match (&args.api_key, &args.token) {
        (Some(key), _) => builder = builder.api_key(key),
        (None, Some(token)) => builder = builder.bearer_token(token),
        (None, None) => {
            if let Some(token) = credentials::stored_token()? {
                builder = builder.bearer_token(token);
            }
        }
    }
    builder
        .build()
        .map_err(|e| crate::failure::explain(&e, &args.gateway_url))
}
