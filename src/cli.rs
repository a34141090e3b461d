//! Command-line interface: one subcommand per process role or operator task.
//! The doc comments here are the `--help` text operators read.

use clap::{Parser, Subcommand};

/// Two-way sync between the PERM case tracker's deadlines and Google Calendar.
#[derive(Debug, Parser)]
#[command(name = "calsync", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the embedded database migrations (reads DATABASE_URL).
    Migrate(MigrateArgs),
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// Only list pending migrations; exit with status 1 if there are any.
    #[arg(long)]
    pub check: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
