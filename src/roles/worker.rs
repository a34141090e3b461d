//! `calsync worker`: runs background jobs until SIGTERM or Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::config::{DatabaseConfig, QueueConfig, RedisConfig, WatchConfig, WorkerConfig};
use crate::db::{Db, migrations};
use crate::jobs::process_calendar_changes::ProcessCalendarChanges;
use crate::jobs::push_case_changes::PushCaseChanges;
use crate::jobs::{self, JobContext, WorkerSettings, backstop, outbox_sweep};
use crate::outbound::Pacer;
use crate::queue::backend::BackendSettings;
use crate::queue::{self, JobQueue, RedisQueue};
use crate::sync::renewal;
use crate::sync::watch::WatchTarget;

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
        let (sync, sync_config) = super::context::sync_context(&db)?;
        let renewal = renewal_loop(sync.clone())?;
        let ctx = Arc::new(JobContext {
            db: db.clone(),
            sync,
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
        let calendar_changes = jobs::run_job_worker::<ProcessCalendarChanges>(
            ctx.clone(),
            RedisQueue::new(
                conn.clone(),
                &queue_config.namespace,
                ProcessCalendarChanges::QUEUE,
            ),
            settings("sync"),
            stopped(),
        );
        let pushes = jobs::run_job_worker::<PushCaseChanges>(
            ctx.clone(),
            RedisQueue::new(
                conn.clone(),
                &queue_config.namespace,
                PushCaseChanges::QUEUE,
            ),
            settings("push"),
            stopped(),
        );
        let job_queue = JobQueue::new(conn, &queue_config);
        let sweep = outbox_sweep::run(
            db.clone(),
            job_queue.clone(),
            sync_config.outbox_sweep_interval,
            stopped(),
        );
        let backstop = {
            let (db, stop) = (db.clone(), stopped());
            async move {
                if let Some(interval) = sync_config.backstop_interval {
                    tokio::select! {
                        () = backstop::run(db, job_queue, interval) => {}
                        () = stop => {}
                    }
                }
            }
        };
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
        let renewals = async {
            if let Some(run) = renewal {
                tokio::select! {
                    () = run => {}
                    () = stopped() => {}
                }
            }
        };
        let (result, (), (), (), ()) = tokio::join!(workers, sweep, signal, renewals, backstop);
        result
    });
    // A job cut off by the grace period may still sit in a blocking database call; do not
    // wait for it (its job is back in the queue and will run again).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result?;
    Ok(ExitCode::SUCCESS)
}

/// The periodic channel renewal, or `None` (with a warning) when `WEBHOOK_PUBLIC_URL` is not
/// set: a worker without it still syncs, but channels lapse after their lifetime.
fn renewal_loop(
    ctx: crate::sync::SyncContext,
) -> anyhow::Result<Option<impl std::future::Future<Output = ()>>> {
    let config = match WatchConfig::from_env() {
        Ok(c) => c,
        Err(crate::config::ConfigError::Missing(name)) => {
            log::warn!(
                "{name} is not set: channels will NOT be renewed and lapse when they expire"
            );
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let token_for = super::context::channel_token_fn()?;
    let target = WatchTarget {
        address: config.notification_address(),
        ttl: Some(config.channel_ttl),
    };
    Ok(Some(async move {
        let mut ticker = tokio::time::interval(config.renewal_interval);
        loop {
            ticker.tick().await;
            match renewal::renew_expiring(&ctx, config.renew_before, &target, &token_for).await {
                Ok(r) if r.renewed + r.failed > 0 => {
                    log::info!(
                        "channel renewal: {} renewed, {} failed",
                        r.renewed,
                        r.failed
                    );
                }
                Ok(_) => {}
                Err(e) => log::warn!("channel renewal pass failed: {e}"),
            }
        }
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
