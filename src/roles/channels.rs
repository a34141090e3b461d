//! `calsync channels ...`: operator commands for push channels.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::channels::{self, WatchTarget};
use crate::cli::ChannelsCommand;
use crate::config::{DatabaseConfig, WatchConfig};
use crate::db::Db;
use crate::db::models::calendar_channel::{self, CalendarChannel};
use crate::inbound::SyncOutcome;

pub fn run(command: ChannelsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ChannelsCommand::List => {
            let mut conn = crate::db::connect(&DatabaseConfig::from_env()?)
                .context("connecting to PostgreSQL")?;
            crate::db::migrations::ensure_current(&mut conn)?;
            let channels = calendar_channel::list_all(&mut conn).context("listing channels")?;
            print!("{}", render_table(&channels));
            Ok(ExitCode::SUCCESS)
        }
        ChannelsCommand::Watch { user, calendar } => {
            let watch_config = WatchConfig::from_env()?;
            let token_for = super::context::channel_token_fn()?;
            let db = connected_db()?;
            let ctx = super::context::sync_context(&db)?;
            let target = WatchTarget::from_config(&watch_config);
            let (channel, outcome) = runtime()?.block_on(channels::watch_calendar(
                &ctx, user, &calendar, &target, token_for,
            ))?;
            println!(
                "watching calendar {calendar} of user {user} on channel {}",
                channel.channel_id
            );
            if let SyncOutcome::Synced(report) = outcome {
                println!(
                    "first sync: {} event(s) in {} page(s), {} deadline change(s) applied",
                    report.events, report.pages, report.stats.applied
                );
            }
            print!("{}", render_table(std::slice::from_ref(&channel)));
            Ok(ExitCode::SUCCESS)
        }
        ChannelsCommand::Release { channel, missing } => {
            let db = connected_db()?;
            let ctx = super::context::sync_context(&db)?;
            let resolution = match missing {
                crate::cli::MissingEvents::Dismiss => channels::Resolution::Dismiss,
                crate::cli::MissingEvents::Repush => channels::Resolution::Repush,
            };
            let outcome =
                runtime()?.block_on(channels::release_hold(&ctx, &channel, resolution))?;
            println!("released channel {channel}: {outcome:?}");
            Ok(ExitCode::SUCCESS)
        }
        ChannelsCommand::Stop { channel } => {
            let db = connected_db()?;
            let ctx = super::context::sync_context(&db)?;
            if runtime()?.block_on(channels::stop_channel(&ctx, &channel))? {
                println!("stopped channel {channel}");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("no channel {channel}");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

fn connected_db() -> anyhow::Result<Db> {
    let db = Db::new(&DatabaseConfig::from_env()?);
    let mut conn = db.checkout().context("connecting to PostgreSQL")?;
    crate::db::migrations::ensure_current(&mut conn)?;
    Ok(db)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A plain-text table, one channel per line, columns padded to fit.
pub fn render_table(channels: &[CalendarChannel]) -> String {
    let header = [
        "USER",
        "CALENDAR",
        "CHANNEL",
        "EXPIRES",
        "LAST NOTIFICATION",
        "STATUS",
    ]
    .map(String::from);
    let rows: Vec<[String; 6]> = channels
        .iter()
        .map(|c| {
            [
                c.user_id.to_string(),
                c.calendar_id.clone(),
                c.channel_id.clone(),
                DateTime::<Utc>::from_timestamp_millis(c.expiration_timestamp).map_or_else(
                    || c.expiration_timestamp.to_string(),
                    |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string(),
                ),
                c.last_notification_at.map_or_else(
                    || "-".to_owned(),
                    |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string(),
                ),
                c.status.as_str().to_owned(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if rows.is_empty() {
        out.push_str("(no channels)\n");
    }
    out
}
