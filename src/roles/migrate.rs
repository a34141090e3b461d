//! `calsync migrate`: the only place that applies migrations (deploys run it as a release
//! step; `serve` and `worker` refuse to start while any are pending).

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::MigrateArgs;
use crate::config::DatabaseConfig;
use crate::db::migrations;

pub fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let config = DatabaseConfig::from_env()?;
    let mut conn = crate::db::connect(&config).context("connecting to PostgreSQL")?;
    if args.check {
        let pending = migrations::pending(&mut conn)?;
        if pending.is_empty() {
            println!("no pending migrations");
            return Ok(ExitCode::SUCCESS);
        }
        for name in &pending {
            println!("pending: {name}");
        }
        return Ok(ExitCode::FAILURE);
    }
    let applied = migrations::apply_pending(&mut conn)?;
    if applied.is_empty() {
        log::info!("database is up to date; no migrations applied");
    }
    for name in &applied {
        log::info!("applied migration {name}");
    }
    Ok(ExitCode::SUCCESS)
}
