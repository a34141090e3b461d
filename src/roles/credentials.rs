//! `calsync credentials set`: store a user's Google refresh token, sealed.
//! `calsync credentials reseal`: seal every stored credential again with the current key.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::Utc;
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
        CredentialsCommand::Reseal => reseal(),
    }
}

/// Rows read per batch.
const RESEAL_BATCH: i64 = 500;

fn reseal() -> anyhow::Result<ExitCode> {
    let crypto = CryptoConfig::from_env()?;
    let cipher = &crypto.cipher;
    let mut conn =
        crate::db::connect(&DatabaseConfig::from_env()?).context("connecting to PostgreSQL")?;
    crate::db::migrations::ensure_current(&mut conn)?;
    let (mut resealed, mut current, mut changed, mut failed) = (0usize, 0usize, 0usize, 0usize);
    let mut after = None;
    loop {
        let rows = google_credential::list_after(&mut conn, after, RESEAL_BATCH)
            .context("reading credentials")?;
        let Some(last) = rows.last() else { break };
        after = Some(last.user_id);
        for row in rows {
            // The access token is re-sealed only while it is still good for a minute.
            match row.open(cipher, Utc::now(), chrono::Duration::seconds(60)) {
                Ok(opened) if !opened.stale => current += 1,
                Ok(opened) => {
                    if google_credential::reseal(&mut conn, cipher, &row, &opened)
                        .context("writing re-sealed credentials")?
                    {
                        resealed += 1;
                    } else {
                        changed += 1;
                    }
                }
                Err(e) => {
                    failed += 1;
                    eprintln!(
                        "user {}: cannot open (key version {}): {e}",
                        row.user_id, row.key_version
                    );
                }
            }
        }
    }
    println!(
        "re-sealed {resealed} credentials with key version {}; {current} already current; \
         {changed} changed meanwhile (already re-written); {failed} could not be opened",
        cipher.current_version()
    );
    if failed > 0 {
        eprintln!(
            "keep the keys in TOKEN_ENCRYPTION_PREVIOUS_KEYS until the rows above are fixed \
             (or their users reconnect)"
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
