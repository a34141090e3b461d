//! `calsync worker`: runs background jobs until SIGTERM or Ctrl-C (see `crate::worker`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::channels::WatchTarget;
use crate::config::{
    ConfigError, DatabaseConfig, FleetConfig, QueueConfig, RedisConfig, SyncConfig, WatchConfig,
    WorkerConfig,
};
use crate::db::{Db, migrations};
use crate::queue;
use crate::retry::RetryPolicy;
use crate::worker::{self, RenewalSetup, WorkerSetup};

pub fn run() -> anyhow::Result<ExitCode> {
    let mut db_config = DatabaseConfig::from_env()?;
    let redis_config = RedisConfig::from_env()?;
    let queue_config = QueueConfig::from_env()?;
    let worker_config = WorkerConfig::from_env()?;
    let sync_config = SyncConfig::from_env()?;
    let fleet = FleetConfig::from_env()?;
    let retry = RetryPolicy::from_env()?;
    // Every running job may hold a connection at once.
    db_config.pool_size = db_config
        .pool_size
        .max(u32::try_from(worker_config.concurrency).unwrap_or(u32::MAX));

    let db = Db::new(&db_config);
    // Configuration errors first, before any connection is tried.
    let google = super::context::google_accounts(&db)?;
    let renewal = renewal_setup()?;
    {
        let mut conn = db.checkout().context("connecting to PostgreSQL")?;
        migrations::ensure_current(&mut conn)?;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async move {
        let redis = queue::connect(&redis_config).context("configuring the Redis client")?;
        let setup = WorkerSetup {
            db,
            redis,
            queue: queue_config,
            worker: worker_config,
            sync: sync_config,
            google,
            retry,
            renewal,
            fleet,
        };
        Box::pin(worker::run(setup, shutdown_signal())).await
    });
    // A job cut off by the grace period may still sit in a blocking database call; do not
    // wait for it (its job is back in the queue and will run again).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result?;
    Ok(ExitCode::SUCCESS)
}

/// The channel renewal, or `None` (with a warning) when `WEBHOOK_PUBLIC_URL` is not set: a
/// worker without it still syncs, but channels lapse after their lifetime.
fn renewal_setup() -> anyhow::Result<Option<RenewalSetup>> {
    let config = match WatchConfig::from_env() {
        Ok(c) => c,
        Err(ConfigError::Missing(name)) => {
            log::warn!(
                "{name} is not set: channels will NOT be renewed and lapse when they expire"
            );
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Some(RenewalSetup {
        target: WatchTarget::from_config(&config),
        renew_before: config.renew_before,
        every: config.renewal_interval,
        token_for: Arc::new(super::context::channel_token_fn()?),
    }))
}

/// Resolves on SIGTERM (how supervisors stop a process) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            log::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                log::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => log::info!("Ctrl-C received"),
        () = term => log::info!("SIGTERM received"),
    }
}
