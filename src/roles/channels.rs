//! `calsync channels ...`: operator commands for push channels.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::cli::ChannelsCommand;
use crate::config::DatabaseConfig;
use crate::db::models::calendar_channel::{self, CalendarChannel};

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
    }
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
