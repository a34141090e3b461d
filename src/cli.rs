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
    /// Serve HTTP: the Google Calendar webhook, /healthz, /readyz and /metrics (reads
    /// DATABASE_URL, REDIS_URL, BIND_ADDR, CHANNEL_TOKEN_SECRET, ...; see README).
    /// Refuses to start while migrations are pending.
    Serve,
    /// Run background jobs until SIGTERM (reads DATABASE_URL, REDIS_URL, WORKER_CONCURRENCY,
    /// ...; see README). Running jobs finish or go back to the queue on stop. Refuses to
    /// start while migrations are pending.
    Worker,
    /// Benchmark helper: a bare HTTP server answering 200 (BIND_ADDR, HTTP_WORKERS).
    #[command(hide = true)]
    BenchBareServer(BenchBareArgs),
    /// Benchmark helper: print `channel_id token` lines (CHANNEL_TOKEN_SECRET).
    #[command(hide = true)]
    BenchTokens(BenchTokensArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchBareArgs {}

#[derive(Debug, clap::Args)]
pub struct BenchTokensArgs {
    /// How many channels.
    #[arg(long, default_value_t = 1000)]
    pub channels: u32,
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
