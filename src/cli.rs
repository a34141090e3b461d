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
    /// Manage users' Google credentials.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// Inspect and manage Google push channels.
    #[command(subcommand)]
    Channels(ChannelsCommand),
    /// Run the Google Calendar emulator (OAuth, Calendar API, push notifications, control API)
    /// for demos and manual testing. Prints its URLs and the demo user's refresh token.
    Emulator(EmulatorArgs),
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

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Store a user's Google refresh token, read from standard input, sealed with
    /// TOKEN_ENCRYPTION_KEY. The token is never echoed or logged.
    Set {
        /// The user (perm_users.id).
        #[arg(long)]
        user: uuid::Uuid,
        /// The scopes the token was granted, space-separated.
        #[arg(
            long,
            default_value = "https://www.googleapis.com/auth/calendar.events"
        )]
        scopes: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    /// List every channel: user, calendar, channel, expiry, last notification, status.
    List,
    /// Watch a user's calendar: events.watch with WEBHOOK_PUBLIC_URL and the channel's token,
    /// the channel row, then a full sync (watching first loses no change). Replaces and stops
    /// the user's previous channel on that calendar.
    Watch {
        /// The user (perm_users.id); their Google credentials must be stored.
        #[arg(long)]
        user: uuid::Uuid,
        /// The Google calendar id.
        #[arg(long, default_value = "primary")]
        calendar: String,
    },
    /// Stop a channel at Google (channels.stop), then delete its row.
    Stop {
        /// The channel id (as `channels list` shows it).
        #[arg(long)]
        channel: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8085)]
    pub port: u16,
    /// Address to bind. Keep the loopback default unless the demo needs another host.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Email of the demo user created at start-up (its primary calendar has the same id).
    #[arg(long, default_value = "paralegal@example.com")]
    pub user: String,
    /// Fixed refresh token for the demo user, so calsync's config can name it in advance;
    /// a random one is printed when omitted.
    #[arg(long)]
    pub refresh_token: Option<String>,
    /// OAuth client id the token endpoint accepts.
    #[arg(long, default_value = "calsync-test-client.apps.googleusercontent.com")]
    pub client_id: String,
    /// OAuth client secret the token endpoint accepts.
    #[arg(long, default_value = "calsync-test-secret")]
    pub client_secret: String,
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
