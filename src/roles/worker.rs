//! `calsync worker`: runs background jobs until SIGTERM or Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::config::{
    CryptoConfig, DatabaseConfig, GoogleConfig, QueueConfig, RedisConfig, SyncConfig, WorkerConfig,
};
use crate::db::{Db, migrations};
use crate::google::GoogleAccounts;
use crate::jobs::process_calendar_changes::ProcessCalendarChanges;
use crate::jobs::push_case_changes::PushCaseChanges;
use crate::jobs::{self, JobContext, WorkerSettings, outbox_sweep};
use crate::outbound::Pacer;
use crate::queue::backend::BackendSettings;
use crate::queue::{self, JobQueue, RedisQueue};
use crate::sync::SyncContext;

pub fn run() -> anyhow::Result<ExitCode> {
    let mut db_config = DatabaseConfig::from_env()?;
    let redis_config = RedisConfig::from_env()?;
    let queue_config = QueueConfig::from_env()?;
    let worker_config = WorkerConfig::from_env()?;
    let google_config = GoogleConfig::from_env()?;
    let crypto = CryptoConfig::from_env()?;
    let sync_config = SyncConfig::from_env()?;
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
        let google = GoogleAccounts::new(&google_config, db.clone(), crypto.cipher)?;
        let ctx = Arc::new(JobContext {
            db: db.clone(),
            sync: SyncContext {
                db: db.clone(),
                google,
                settings: sync_config.settings,
            },
            push_batch_cases: sync_config.push_batch_cases,
            push_pacer: Pacer::per_minute(sync_config.push_requests_per_minute),
        });
        let settings = |suffix: &str| WorkerSettings {
            backend: BackendSettings::new(
                &format!("{}-{suffix}", worker_config.name),
                &queue_config,
            ),
            concurrency: worker_config.concurrency,
            shutdown_grace: worker_config.shutdown_grace,
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        let calendar_changes = jobs::run_calendar_changes_worker(
            ctx.clone(),
            RedisQueue::new(
                conn.clone(),
                &queue_config.namespace,
                ProcessCalendarChanges::QUEUE,
            ),
            settings("sync"),
            stopped(),
        );
        let pushes = jobs::run_push_worker(
            ctx.clone(),
            RedisQueue::new(
                conn.clone(),
                &queue_config.namespace,
                PushCaseChanges::QUEUE,
            ),
            settings("push"),
            stopped(),
        );
        let sweep = outbox_sweep::run(
            db.clone(),
            JobQueue::new(conn, &queue_config),
            sync_config.outbox_sweep_interval,
            stopped(),
        );
        let stop_tx = Arc::new(stop_tx);
        // Either worker ending on its own is a failure: everything else stops too, and the
        // process exits non-zero for its supervisor.
        let workers = {
            let tx = stop_tx.clone();
            async move {
                let result = tokio::try_join!(calendar_changes, pushes).map(|_| ());
                let _ = tx.send(true);
                result
            }
        };
        let signal = {
            let (tx, already) = (stop_tx.clone(), stopped());
            async move {
                tokio::select! {
                    () = shutdown_signal() => {}
                    () = already => {}
                }
                let _ = tx.send(true);
            }
        };
        let (result, (), ()) = tokio::join!(workers, sweep, signal);
        result
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
