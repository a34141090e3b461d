//! `calsync worker`: runs background jobs until SIGTERM or Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::config::{DatabaseConfig, QueueConfig, RedisConfig, WorkerConfig};
use crate::db::{Db, migrations};
use crate::jobs::process_calendar_changes::ProcessCalendarChanges;
use crate::jobs::{self, JobContext, WorkerSettings};
use crate::queue::backend::BackendSettings;
use crate::queue::{self, RedisQueue};

pub fn run() -> anyhow::Result<ExitCode> {
    let mut db_config = DatabaseConfig::from_env()?;
    let redis_config = RedisConfig::from_env()?;
    let queue_config = QueueConfig::from_env()?;
    let worker_config = WorkerConfig::from_env()?;
    // Every running job may hold a connection at once.
    db_config.pool_size = db_config
        .pool_size
        .max(u32::try_from(worker_config.concurrency).unwrap_or(u32::MAX));

    let db = Db::new(&db_config);
    {
        let mut conn = db.checkout().context("connecting to PostgreSQL")?;
        migrations::ensure_current(&mut conn)?;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async move {
        let conn = queue::connect(&redis_config).context("configuring the Redis client")?;
        let queue = RedisQueue::new(conn, &queue_config.namespace, ProcessCalendarChanges::QUEUE);
        let settings = WorkerSettings {
            backend: BackendSettings::new(&worker_config.name, &queue_config),
            concurrency: worker_config.concurrency,
            shutdown_grace: worker_config.shutdown_grace,
        };
        jobs::run_calendar_changes_worker(
            Arc::new(JobContext { db }),
            queue,
            settings,
            shutdown_signal(),
        )
        .await
    });
    // A job cut off by the grace period may still sit in a blocking database call; do not
    // wait for it (its job is back in the queue and will run again).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result?;
    Ok(ExitCode::SUCCESS)
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
