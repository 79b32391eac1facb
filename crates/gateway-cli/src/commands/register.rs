//! `mcpp gateway register TEMPLATE (--endpoint URL | --command CMD) ... [--offline |
//! --database URL]`: through a running gateway, or straight into its database.

use std::path::Path;

use anyhow::anyhow;
use gateway_core::api::{CommandLine, InstanceInfo, RegisterInstance};
use gateway_server::{Overrides, Settings};

use crate::{args::RegisterArgs, failure, output};

/// Registers the instance and prints it.
pub(crate) async fn run(args: RegisterArgs) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().ok();
    let registration = registration(&args, cwd.as_deref());
    let offline = args.offline || args.database.is_some();
    let instance = match offline {
        true => register_offline(args.database.clone(), registration).await?,
        false => register_online(&args, &registration).await?,
    };
    if args.client.json {
        output::print_json(&instance)
    } else {
        println!("{}", output::registered(&instance));
        if offline {
            println!(
                "Written to the database: a gateway already running on it loads the \
                 instance at its next start."
            );
        }
        Ok(())
    }
}

async fn register_online(
    args: &RegisterArgs,
    registration: &RegisterInstance,
) -> anyhow::Result<InstanceInfo> {
    let url = &args.client.gateway_url;
    let client = super::connect(&args.client)?;
    client.register(registration).await.map_err(|e| {
        if e.is_conflict() {
            failure::explain_with_hint(
                &e,
                url,
                "pick another --id, or remove the old instance with `mcpp gateway deregister`",
            )
        } else if e.is_forbidden() && registration.command.is_some() {
            failure::explain_with_hint(
                &e,
                url,
                "the gateway refuses stdio commands over its API unless started with \
                 MCP_GATEWAY_ALLOW_STDIO_REGISTRATION=1; on the gateway's host, add \
                 --offline to write the registration into its database instead",
            )
        } else {
            failure::explain(&e, url)
        }
    })
}

async fn register_offline(
    database: Option<String>,
    registration: RegisterInstance,
) -> anyhow::Result<InstanceInfo> {
    // The gateway's own settings (its default database and template defaults).
    let settings = Settings::load(Overrides {
        database_url: database,
        ..Overrides::default()
    })
    .map_err(|e| anyhow!("{e}"))?;
    gateway_server::register_offline(&settings, registration)
        .await
        .map_err(|e| anyhow!("{e}"))
}

/// The request body for `args`. A relative `--working-dir` is taken from `cwd`, the
/// directory the user typed it in.
pub(crate) fn registration(args: &RegisterArgs, cwd: Option<&Path>) -> RegisterInstance {
    let working_dir = args.working_dir.as_ref().map(|dir| match cwd {
        Some(cwd) if dir.is_relative() => cwd.join(dir),
        _ => dir.clone(),
    });
    RegisterInstance {
        template_name: Some(args.template.clone()),
        instance_id: args.id.clone(),
        endpoint: args.endpoint.clone(),
        command: args.command.clone().map(CommandLine::Line),
        args: None,
        working_dir: working_dir.map(|d| d.display().to_string()),
        env: (!args.env.is_empty()).then(|| args.env.iter().cloned().collect()),
        headers: None,
        transport: args.transport.map(|t| t.as_str().to_owned()),
        weight: args.weight,
        metadata: None,
    }
}

#[cfg(test)]
mod tests;
