//! One file per verb. `start` runs the server in-process; the others are clients of a
//! running gateway and share [`connect`] and [`block_on`].

mod background;
mod deregister;
mod register;
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
    }
}

/// Runs a client verb on a single-threaded runtime (one request at a time).
fn block_on(verb: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(verb)
}

/// A client for the gateway named by `--gateway-url`.
fn connect(args: &ClientArgs) -> anyhow::Result<GatewayClient> {
    GatewayClient::new(&args.gateway_url)
        .map_err(|e| crate::failure::explain(&e, &args.gateway_url))
}
