//! `mcpp gateway register TEMPLATE (--endpoint URL | --command CMD) ...`.

use std::path::Path;

use gateway_core::api::{CommandLine, RegisterInstance};

use crate::{args::RegisterArgs, failure, output};

/// Registers the instance and prints it.
pub(crate) async fn run(args: RegisterArgs) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().ok();
    let registration = registration(&args, cwd.as_deref());
    let url = &args.client.gateway_url;
    let client = super::connect(&args.client)?;
    let instance = client
        .register(&registration)
        .await
        .map_err(|e| match e.is_conflict() {
            true => failure::explain_with_hint(
                &e,
                url,
                "pick another --id, or remove the old instance with `mcpp gateway deregister`",
            ),
            false => failure::explain(&e, url),
        })?;
    if args.client.json {
        output::print_json(&instance)
    } else {
        println!("{}", output::registered(&instance));
        Ok(())
    }
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
