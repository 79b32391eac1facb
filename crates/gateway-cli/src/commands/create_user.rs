//! `mcpp gateway create-user NAME [--password P] [--role admin|user] [--templates ..]
//! [--database URL]`: offline straight into the database when a database is given (the
//! same validation and hashing as the API), else through a running gateway as an admin.

use anyhow::anyhow;
use gateway_core::api::{CreateUser, UserInfo};
use gateway_server::{Overrides, Settings};

use crate::{args::CreateUserArgs, failure, output};

/// Creates the user and prints it.
pub(crate) async fn run(args: CreateUserArgs) -> anyhow::Result<()> {
    let password = super::credentials::password(
        args.password.clone(),
        &format!("Password for {}: ", args.username),
        true,
    )?;
    let request = CreateUser {
        username: args.username.clone(),
        password,
        role: Some(args.role.as_str().to_owned()),
        templates: (!args.templates.is_empty()).then(|| args.templates.clone()),
        active: None,
    };
    let user = match &args.database {
        Some(url) => offline(url, &request).await?,
        None => online(&args, &request).await?,
    };
    if args.client.json {
        output::print_json(&user)
    } else {
        println!("{}", output::created_user(&user));
        Ok(())
    }
}

async fn offline(database_url: &str, request: &CreateUser) -> anyhow::Result<UserInfo> {
    // The gateway's own settings (bcrypt cost included), with this database.
    let settings = Settings::load(Overrides {
        database_url: Some(database_url.to_owned()),
        ..Overrides::default()
    })
    .map_err(|e| anyhow!("{e}"))?;
    gateway_server::create_user(&settings, request)
        .await
        .map_err(|e| anyhow!("{e}"))
}

async fn online(args: &CreateUserArgs, request: &CreateUser) -> anyhow::Result<UserInfo> {
    let url = &args.client.gateway_url;
    let client = super::connect(&args.client)?;
    client
        .create_user(request)
        .await
        .map_err(|e| match e.is_forbidden() {
            true => failure::explain_with_hint(&e, url, "creating users needs an admin login"),
            false => failure::explain(&e, url),
        })
}
