//! The whole pipeline, as in production but on one machine: the Google emulator POSTs its
//! notifications to calsync's real webhook server (port 0, real TCP), which records jobs in
//! Redis; the application's worker (`calsync::worker::run`, as `calsync worker` runs it)
//! runs the real job code against the emulator and PostgreSQL.
//!
//! Dropping a pipeline fails the test if the outbox still holds rows (a change that never
//! reached Google); leftover jobs fail it the same way unless the test said it expects them
//! (`TestRedis::expect_jobs_left`).

use std::time::Duration;

use calsync::channel_token;
use calsync::channels::{WatchTarget, watch_calendar};
use calsync::config::{HttpConfig, RedisConfig, WebhookConfig};
use calsync::http::ServerHandles;
use calsync::http::{self, AppState};
use calsync::inbound::SyncOutcome;
use calsync::jobs::JobQueue;
use calsync::jobs::push_case_changes::PushCaseChanges;
use calsync::queue;
use calsync::worker::WorkerSetup;
use diesel::prelude::*;
use gcal_emulator::EmulatorConfig;

use super::google::GoogleWorld;
use super::test_app::SECRET;
use super::test_redis::{TestRedis, eventually};
use super::worker::{RunningWorker, WorkerOptions, setup};

/// How long a test waits for the pipeline to settle: generous, the suite shares two cores.
pub const WITHIN: Duration = Duration::from_secs(60);

// Fields drop in order: the workers go before the queue and the database they use.
pub struct Pipeline {
    workers: Vec<RunningWorker>,
    server: ServerHandles,
    pub redis: TestRedis,
    pub w: GoogleWorld,
    pub webhook_url: String,
    pub options: PipelineOptions,
}

/// Knobs of a pipeline test.
#[derive(Clone)]
pub struct PipelineOptions {
    pub emulator: EmulatorConfig,
    pub worker: WorkerOptions,
    /// Start the worker (off to stage a backlog first, then `start_workers`).
    pub workers: bool,
    /// A Redis of the test's own (a fault test's `ThrowawayRedis`) instead of the shared one.
    pub redis_url: Option<String>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            emulator: EmulatorConfig::default(),
            worker: WorkerOptions::default(),
            workers: true,
            redis_url: None,
        }
    }
}

impl PipelineOptions {
    /// Google answering every call in `min`–`max` ms (as Google does in about 100), two job
    /// slots per worker, and no worker started yet: tests start theirs once their fixtures
    /// are in place (a running worker would push a fixture's case before its calendar is
    /// watched, and take its event off the calendar).
    pub fn google_paced(min_ms: u64, max_ms: u64) -> Self {
        Self {
            emulator: EmulatorConfig {
                api_latency: Some((Duration::from_millis(min_ms), Duration::from_millis(max_ms))),
                ..EmulatorConfig::default()
            },
            worker: WorkerOptions {
                concurrency: 2,
                ..WorkerOptions::default()
            },
            workers: false,
            ..Self::default()
        }
    }
}

impl Pipeline {
    pub async fn start() -> Self {
        Self::start_with(PipelineOptions::default()).await
    }

    pub async fn start_with(options: PipelineOptions) -> Self {
        let w =
            GoogleWorld::start_with(options.emulator.clone(), options.worker.sync.clone()).await;
        let redis = match &options.redis_url {
            Some(url) => TestRedis::at(url),
            None => TestRedis::new(),
        };
        let conn = queue::connect(&RedisConfig::for_url(redis.url())).unwrap();
        let state = AppState::new(
            w.db.db(),
            JobQueue::new(conn, &redis.queue_config()),
            WebhookConfig::with_secret(SECRET),
        )
        .unwrap();
        let http_config = HttpConfig {
            bind_addr: "127.0.0.1:0".parse().unwrap(),
            admin_bind_addr: "127.0.0.1:0".parse().unwrap(),
            workers: 1,
        };
        let (server, addr) = http::listen(state, &http_config).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        let mut pipeline = Self {
            w,
            redis,
            webhook_url: format!("http://{addr}/api/webhooks/google-calendar"),
            options: options.clone(),
            server: handle,
            workers: Vec::new(),
        };
        if options.workers {
            pipeline.start_workers();
        }
        pipeline
    }

    /// The worker setup this pipeline runs (tests may change it and start it themselves).
    pub fn worker_setup(&self) -> WorkerSetup {
        setup(
            &self.w.db,
            &self.redis,
            self.w.ctx.google.clone(),
            &self.options.worker,
        )
    }

    /// Starts one worker, as `calsync worker` would, with the pipeline's options.
    pub fn start_workers(&mut self) {
        self.start_worker(self.worker_setup());
    }

    /// Starts one more worker with `setup` (several run as several processes would).
    pub fn start_worker(&mut self, setup: WorkerSetup) {
        self.workers.push(RunningWorker::start(setup));
    }

    /// Aborts the `index`-th running worker at whatever await it is at, as a crash would
    /// (what it holds in Redis is left to expire).
    pub fn crash_worker(&mut self, index: usize) {
        if index < self.workers.len() {
            drop(self.workers.remove(index));
        }
    }

    /// Watches the user's calendar with the webhook's real address and token, as
    /// `calsync channels watch` does; returns the channel id.
    pub async fn watch(&self) -> String {
        let target = WatchTarget {
            address: self.webhook_url.clone(),
            ttl: None,
        };
        let (channel, outcome) = watch_calendar(
            &self.w.ctx,
            self.w.user_id,
            self.w.calendar(),
            &target,
            |id| channel_token::derive(&SECRET.to_owned().into(), id),
        )
        .await
        .unwrap();
        assert!(matches!(outcome, SyncOutcome::Synced(_)), "{outcome:?}");
        channel.channel_id
    }

    /// Stops every worker (as if the worker processes were down); the webhook keeps
    /// recording jobs in Redis. `start_workers` starts one again.
    pub async fn stop_workers(&mut self) {
        for worker in self.workers.drain(..) {
            worker.stop().await.unwrap();
        }
    }

    pub async fn stop(mut self) {
        self.stop_workers().await;
        self.server.stop(true).await;
    }

    pub fn outbox_rows(&self) -> i64 {
        use calsync::db::schema::calendar_outbox::dsl;
        dsl::calendar_outbox
            .count()
            .get_result(&mut self.w.db.conn())
            .unwrap()
    }

    /// Waits until nothing is moving: no notification is still on its way to the webhook
    /// (about to become a job, or waiting for Google's retry), the outbox is
    /// drained, both queues are idle, and neither the emulator's records nor the queue
    /// counters change for 300 ms.
    pub async fn until_idle(&self) {
        let pushes = self.redis.queue(PushCaseChanges::QUEUE);
        let snapshot = || async {
            let depth = self.redis.depth().await;
            let push_depth = pushes.depth().await.unwrap();
            let delivered = self.w.emu.notifications_in_flight() == 0;
            let idle = delivered
                && self.outbox_rows() == 0
                && depth.ready + depth.delayed + depth.inflight == 0
                && push_depth.ready + push_depth.delayed + push_depth.inflight == 0;
            let activity = (
                self.w.emu.requests().len(),
                self.w.emu.notifications().len(),
                self.redis.calendar_changes().counters().await.unwrap(),
                pushes.counters().await.unwrap(),
            );
            (idle, activity)
        };
        eventually(WITHIN, "the pipeline to go idle", || async {
            let (idle, activity) = snapshot().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (idle_after, activity_after) = snapshot().await;
            idle && idle_after && activity == activity_after
        })
        .await;
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let rows = self.outbox_rows();
        assert_eq!(
            rows, 0,
            "the test left {rows} outbox row(s) behind: a tracker change that never reached Google"
        );
    }
}
