//! `calsync credentials set`: store a user's Google refresh token, sealed.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};
use diesel::prelude::*;

use crate::cli::CredentialsCommand;
use crate::config::{CryptoConfig, DatabaseConfig};
use crate::db::models::calendar_channel::{self, ChannelStatus};
use crate::db::models::google_credential;
use crate::db::schema::perm_users;

pub fn run(command: CredentialsCommand) -> anyhow::Result<ExitCode> {
    match command {
        CredentialsCommand::Set { user, scopes } => {
            let crypto = CryptoConfig::from_env()?;
            let mut conn = crate::db::connect(&DatabaseConfig::from_env()?)
                .context("connecting to PostgreSQL")?;
            crate::db::migrations::ensure_current(&mut conn)?;
            let exists: bool = diesel::select(diesel::dsl::exists(perm_users::table.find(user)))
                .get_result(&mut conn)
                .context("looking the user up")?;
            if !exists {
                bail!("no user {user} in perm_users");
            }
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading the refresh token from standard input")?;
            let token = input.trim();
            if token.is_empty() || token.contains(char::is_whitespace) {
                bail!("standard input must hold exactly one refresh token");
            }
            google_credential::store_refresh_token(&mut conn, &crypto.cipher, user, token, &scopes)
                .context("storing the credentials")?;
            println!(
                "stored Google credentials for user {user} (key version {})",
                crypto.cipher.current_version()
            );
            // Channels parked by a revoked grant are not trusted again by themselves: Google
            // may have dropped them with the grant. A new watch resumes the sync (and the
            // user's waiting outbox) from the stored sync token.
            for channel in calendar_channel::list_for_user_with_status(
                &mut conn,
                user,
                ChannelStatus::NeedsReauth,
            )? {
                println!(
                    "channel {} of calendar {} waits for re-authorisation: run `calsync channels watch --user {user} --calendar {}` to resume it",
                    channel.channel_id, channel.calendar_id, channel.calendar_id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
