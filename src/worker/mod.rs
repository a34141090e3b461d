//! The whole worker process, built in one place from configuration: a job runner per queue
//! (`ProcessCalendarChanges`, `PushCaseChanges`), the outbox sweep, the backstop, channel
//! renewal, and the graceful stop. `calsync worker`, the test harness and the benchmarks all
//! run this, so a test runs the wiring production runs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::account::GoogleAccounts;
use crate::channels::{self, WatchTarget};
use crate::config::{FleetConfig, QueueConfig, SyncConfig, WorkerConfig};
use crate::db::Db;
use crate::inbound::SyncContext;
use crate::jobs::process_calendar_changes::ProcessCalendarChanges;
use crate::jobs::push_case_changes::PushCaseChanges;
use crate::jobs::{Job, JobContext, JobQueue, backstop, cleanup, outbox_sweep};
use crate::outbound::{Pacer, PushContext};
use crate::queue::backend::BackendSettings;
use crate::queue::fleet::FleetTurns;
use crate::queue::{RedisQueue, WorkerSettings, run_worker};
use crate::quota::Quota;
use crate::retry::RetryPolicy;

/// Gives the channel token Google will echo for a channel id.
pub type TokenFn = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Everything a worker process runs with.
pub struct WorkerSetup {
    pub db: Db,
    pub redis: ConnectionManager,
    pub queue: QueueConfig,
    pub worker: WorkerConfig,
    pub sync: SyncConfig,
    pub google: GoogleAccounts,
    pub retry: RetryPolicy,
    /// `None` when the worker cannot renew channels (no `WEBHOOK_PUBLIC_URL`).
    pub renewal: Option<RenewalSetup>,
    /// What the worker shares with the rest of the fleet (duties, throttle, quota).
    pub fleet: FleetConfig,
}

/// How channels are renewed.
pub struct RenewalSetup {
    pub target: WatchTarget,
    /// A channel expiring within this is replaced.
    pub renew_before: Duration,
    /// How often to look for channels to renew.
    pub every: Duration,
    pub token_for: TokenFn,
}

impl WorkerSetup {
    /// What the jobs run with.
    pub fn job_context(&self) -> JobContext {
        let sync = SyncContext {
            db: self.db.clone(),
            google: self.google.clone(),
            settings: self.sync.settings.clone(),
            retry: self.retry.clone(),
        };
        JobContext {
            push: PushContext {
                sync: sync.clone(),
                pacer: Pacer::per_minute(self.sync.push_requests_per_minute),
                batch_cases: self.sync.push_batch_cases,
                style: Arc::new(self.sync.event_style.clone()),
            },
            sync,
            retry: self.retry.clone(),
            sync_min_interval: self.fleet.sync_min_interval,
        }
    }

    /// The Google accounts with the fleet's shared quota in front of every request.
    fn with_shared_quota(&mut self) {
        let quota = Quota::new(self.redis.clone(), &self.queue.namespace, self.fleet.quota);
        self.google = self.google.clone().with_quota(quota);
    }
}

/// Runs the worker until `shutdown` resolves (then stops gracefully: see
/// `queue::run_worker`), or until a job runner stops on its own, which is an error: the
/// process should exit non-zero for its supervisor.
pub async fn run(
    mut setup: WorkerSetup,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    setup.with_shared_quota();
    let ctx = Arc::new(setup.job_context());
    let renewal = setup.renewal.take();
    let renewal_claim = setup.fleet.renewal_claim;
    let setup_retention = setup.fleet.dead_job_retention;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let runner = |job: &str| job_runner(&setup, job, stopped());
    let calendar_changes =
        runner_for::<ProcessCalendarChanges>(&setup, ctx.clone(), runner("sync"));
    let pushes = runner_for::<PushCaseChanges>(&setup, ctx.clone(), runner("push"));
    let job_queue = JobQueue::new(setup.redis.clone(), &setup.queue);
    let turns = FleetTurns::new(
        setup.redis.clone(),
        &setup.queue.namespace,
        &setup.worker.name,
    );
    let sweep = outbox_sweep::run(
        setup.db.clone(),
        job_queue.clone(),
        turns.clone(),
        setup.sync.outbox_sweep_interval,
        stopped(),
    );
    let cleanup = until(stopped(), async move {
        match setup_retention {
            Some(retention) => cleanup::run(turns, retention).await,
            None => std::future::pending().await,
        }
    });
    let backstop = until(stopped(), {
        let (db, interval) = (setup.db.clone(), setup.sync.backstop_interval);
        let check_every = setup.fleet.backstop_check_every;
        async move {
            if let Some(interval) = interval {
                backstop::run(db, job_queue, interval, check_every).await;
            }
        }
    });
    let renewals = until(
        stopped(),
        renewal_loop(ctx.sync.clone(), renewal, renewal_claim),
    );
    // Either runner ending on its own is a failure: everything else stops too.
    let workers = async {
        let result = tokio::try_join!(calendar_changes, pushes).map(|_| ());
        let _ = stop_tx.send(true);
        result
    };
    let signal = async {
        tokio::select! {
            () = shutdown => {}
            () = stopped() => {}
        }
        let _ = stop_tx.send(true);
    };
    let (result, (), (), (), (), ()) =
        tokio::join!(workers, sweep, signal, renewals, backstop, cleanup);
    result
}

struct Runner<S> {
    settings: WorkerSettings,
    stop: S,
}

fn job_runner<S>(setup: &WorkerSetup, suffix: &str, stop: S) -> Runner<S> {
    Runner {
        settings: WorkerSettings {
            backend: BackendSettings::new(
                &format!("{}-{suffix}", setup.worker.name),
                &setup.queue,
                &setup.retry,
            ),
            concurrency: setup.worker.concurrency,
            shutdown_grace: setup.worker.shutdown_grace,
        },
        stop,
    }
}

/// The job runner of `J`'s queue.
async fn runner_for<J: Job>(
    setup: &WorkerSetup,
    ctx: Arc<JobContext>,
    runner: Runner<impl Future<Output = ()> + Send>,
) -> anyhow::Result<()> {
    let queue = RedisQueue::new(setup.redis.clone(), &setup.queue.namespace, J::QUEUE);
    run_worker(
        queue,
        runner.settings,
        ctx,
        |job: J, ctx: Arc<JobContext>, attempt| async move { job.run(&ctx, attempt).await },
        runner.stop,
    )
    .await
}

/// Runs `work` until `stop` resolves.
async fn until(stop: impl Future<Output = ()>, work: impl Future<Output = ()>) {
    tokio::select! {
        () = work => {}
        () = stop => {}
    }
}

/// Renews the channels this worker claims every `every`, forever; does nothing without a
/// renewal setup (the worker then warned at start that channels will lapse).
async fn renewal_loop(ctx: SyncContext, renewal: Option<RenewalSetup>, claim: Duration) {
    let Some(r) = renewal else {
        return std::future::pending().await;
    };
    let timing = channels::RenewalTiming {
        window: r.renew_before,
        claim,
    };
    let mut ticker = tokio::time::interval(r.every);
    loop {
        ticker.tick().await;
        match channels::renew_due(&ctx, timing, &r.target, r.token_for.as_ref()).await {
            Ok(report) if report.renewed + report.failed + report.strays_stopped > 0 => log::info!(
                "channel renewal: {} renewed, {} failed, {} stray(s) stopped",
                report.renewed,
                report.failed,
                report.strays_stopped
            ),
            Ok(_) => {}
            Err(e) => log::warn!("channel renewal pass failed: {e}"),
        }
    }
}
