//! weir-admin: the admin commands of the `weir` binary, which work against any
//! Kafka-protocol broker (as `kcat` and `rpk` do):
//! `weir topic create|list|describe|alter-config|add-partitions|delete`,
//! `weir group list|describe|reset-offsets|delete`, `weir produce`,
//! `weir consume`, `weir cluster info`.
//!
//! - [`args`]: the command line (clap), client properties (`-X`, `--command-config`).
//! - [`client`]: a bootstrap connection, metadata, version choice, Kafka errors.
//! - [`topic`], [`group`], [`produce`], [`consume`], [`cluster`]: one module per command.
//! - [`output`]: human tables and `--json`.
//!
//! Exit codes: 0 done, 1 the broker refused or failed, 2 a bad command line.

pub mod args;
pub mod client;
pub mod cluster;
pub mod consume;
pub mod group;
pub mod output;
pub mod produce;
pub mod topic;

use clap::Parser;
use weir_client::ClientError;

/// The first words that route `weir ...` here.
pub const COMMANDS: [&str; 5] = ["topic", "group", "produce", "consume", "cluster"];

/// Entry point for `weir <command> ARGS...` (args without the program name);
/// returns the process exit code.
pub fn run(args: Vec<String>) -> i32 {
    let cli = match args::Cli::try_parse_from(std::iter::once("weir".to_string()).chain(args)) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("weir: cannot start the runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("weir: {e}");
            e.exit_code()
        }
    }
}

async fn dispatch(cli: args::Cli) -> Result<(), ClientError> {
    let props = cli.global.properties()?;
    let mut c = client::Client::connect(&props).await?;
    let json = cli.global.json;
    match cli.command {
        args::Command::Topic(cmd) => topic::run(&mut c, cmd, json).await,
        args::Command::Group(cmd) => group::run(&mut c, cmd, json).await,
        args::Command::Produce(cmd) => produce::run(&mut c, cmd, json).await,
        args::Command::Consume(cmd) => consume::run(&mut c, cmd, json).await,
        args::Command::Cluster(cmd) => cluster::run(&mut c, cmd, json).await,
    }
}
