//! Process roles. Each role builds its own context from the environment and runs;
//! `main` only dispatches here.

mod channels;
mod context;
mod credentials;
mod migrate;
mod serve;
mod worker;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the role the command line asked for.
///
/// Returns the process exit code for outcomes that are not errors (for example
/// `migrate --check` finding pending migrations).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Migrate(args) => migrate::run(&args),
        Command::Credentials(cmd) => credentials::run(cmd),
        Command::Channels(cmd) => channels::run(cmd),
        Command::Serve => serve::run(),
        Command::Worker => worker::run(),
    }
}
