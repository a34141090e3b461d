//! Command-line interface: one subcommand per process role or operator task.
//! The doc comments here are the `--help` text operators read.

use crate::ids::UserId;
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
    /// Serve HTTP: the Google Calendar webhook, /healthz, /readyz and /metrics (reads
    /// DATABASE_URL, REDIS_URL, BIND_ADDR, CHANNEL_TOKEN_SECRET, ...; see README).
    /// Refuses to start while migrations are pending.
    Serve,
    /// Run background jobs until SIGTERM (reads DATABASE_URL, REDIS_URL, WORKER_CONCURRENCY,
    /// ...; see README). Running jobs finish or go back to the queue on stop. Refuses to
    /// start while migrations are pending.
    Worker,
}

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Store a user's Google refresh token, read from standard input, sealed with
    /// TOKEN_ENCRYPTION_KEY. The token is never echoed or logged.
    Set {
        /// The user (perm_users.id).
        #[arg(long)]
        user: UserId,
        /// The scopes the token was granted, space-separated.
        #[arg(
            long,
            default_value = "https://www.googleapis.com/auth/calendar.events"
        )]
        scopes: String,
    },
    /// Re-seal every stored credential with the current TOKEN_ENCRYPTION_KEY, so that keys
    /// in TOKEN_ENCRYPTION_PREVIOUS_KEYS can be removed afterwards. Safe while workers run
    /// (a row changed meanwhile is left as it is). Exits 1 if any row could not be opened.
    Reseal,
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
        user: UserId,
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
    /// End the hold on a channel whose sync would have dismissed most of its deadlines at
    /// once (status `held`): either confirm that the user removed them (they are dismissed),
    /// or put them back on the calendar (the missing events are pushed again).
    Release {
        /// The channel id (as `channels list` shows it).
        #[arg(long)]
        channel: String,
        /// What to do with the deadlines whose events are gone.
        #[arg(long, value_enum)]
        missing: MissingEvents,
    },
}

/// What `channels release` does with the deadlines whose events a held sync found gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MissingEvents {
    /// The user removed them: dismiss them (they stay off until the tracker changes them).
    Dismiss,
    /// They should be there: push them to the calendar again.
    Repush,
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
