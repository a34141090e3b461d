//! The application's worker in a test: `calsync::worker::run`, the same builder
//! `calsync worker` runs, with test-sized settings, on the test's runtime.

use std::time::Duration;

use calsync::account::GoogleAccounts;
use calsync::config::{SyncConfig, SyncSettings, WorkerConfig, unique_name};
use calsync::worker::{self, WorkerSetup};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::test_db::TestDb;
use super::test_redis::{TestRedis, retry_policy};

/// The knobs tests turn.
#[derive(Clone)]
pub struct WorkerOptions {
    pub concurrency: usize,
    pub sweep_interval: Duration,
    pub sync: SyncSettings,
    /// Google quota units a user's pushes may use per minute (as the worker's default).
    pub push_requests_per_minute: Option<u32>,
    /// What pushed events look like.
    pub event_style: calsync::config::EventStyle,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            sweep_interval: Duration::from_millis(50),
            sync: SyncSettings::default(),
            push_requests_per_minute: Some(540),
            event_style: calsync::config::EventStyle::default(),
        }
    }
}

/// A worker setup against the test's database, Redis namespace and Google (the emulator, or
/// an unreachable address for tests of the queue alone). No backstop and no renewal: tests
/// that need them drive those duties directly.
pub fn setup(
    db: &TestDb,
    redis: &TestRedis,
    google: GoogleAccounts,
    o: &WorkerOptions,
) -> WorkerSetup {
    WorkerSetup {
        db: db.db(),
        redis: redis.conn(),
        queue: redis.queue_config(),
        worker: WorkerConfig {
            name: unique_name("test-worker"),
            concurrency: o.concurrency,
            shutdown_grace: Duration::from_secs(5),
        },
        sync: SyncConfig {
            settings: o.sync.clone(),
            outbox_sweep_interval: o.sweep_interval,
            push_batch_cases: 200,
            backstop_interval: None,
            push_requests_per_minute: o.push_requests_per_minute,
            event_style: o.event_style.clone(),
        },
        google,
        retry: retry_policy(),
        renewal: None,
        fleet: calsync::config::FleetConfig::default(),
    }
}

/// A running worker; stop it with [`RunningWorker::stop`] (dropping it aborts it).
pub struct RunningWorker {
    stop: Option<oneshot::Sender<()>>,
    join: JoinHandle<anyhow::Result<()>>,
}

impl RunningWorker {
    pub fn start(setup: WorkerSetup) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        let join = tokio::spawn(worker::run(setup, async move {
            let _ = rx.await;
        }));
        Self {
            stop: Some(tx),
            join,
        }
    }

    /// Stops gracefully and returns how the worker ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.join).await.unwrap()
    }
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        self.join.abort();
    }
}
