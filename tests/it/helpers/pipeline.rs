//! The whole pipeline, as in production but on one machine: the Google emulator POSTs its
//! notifications to calsync's real webhook server (port 0, real TCP), which records jobs in
//! Redis; in-process workers (both queues) and the outbox sweep run the real job code against
//! the emulator and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use calsync::channel_token;
use calsync::config::{HttpConfig, RedisConfig, WebhookConfig};
use calsync::http;
use calsync::jobs::{self, JobContext, outbox_sweep};
use calsync::queue::{self, JobQueue};
use calsync::state::AppState;
use calsync::sync::watch::{WatchTarget, watch_calendar};
use calsync::sync::{SyncOutcome, SyncSettings};
use gcal_emulator::EmulatorConfig;
use tokio::sync::oneshot;

use super::google::GoogleWorld;
use super::test_app::SECRET;
use super::test_redis::{TestRedis, TestWorker};

pub struct Pipeline {
    pub w: GoogleWorld,
    pub redis: TestRedis,
    pub webhook_url: String,
    server: ServerHandle,
    workers: Vec<TestWorker>,
    sweep_stop: Option<oneshot::Sender<()>>,
}

/// Knobs of a pipeline test.
#[derive(Clone)]
pub struct PipelineOptions {
    pub emulator: EmulatorConfig,
    pub sync: SyncSettings,
    pub concurrency: usize,
    pub sweep_interval: Duration,
    /// Start the workers (off to stage a backlog first, then `start_workers`).
    pub workers: bool,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            emulator: EmulatorConfig::default(),
            sync: SyncSettings {
                retry_base: Duration::from_millis(20),
                ..SyncSettings::default()
            },
            concurrency: 4,
            sweep_interval: Duration::from_millis(50),
            workers: true,
        }
    }
}

impl Pipeline {
    pub async fn start() -> Self {
        Self::start_with(PipelineOptions::default()).await
    }

    pub async fn start_with(options: PipelineOptions) -> Self {
        let w = GoogleWorld::start_with(options.emulator.clone(), options.sync.clone()).await;
        let redis = TestRedis::new();
        let conn = queue::connect(&RedisConfig::for_url(redis.url())).unwrap();
        let state = AppState::new(
            w.db.db(),
            JobQueue::new(conn, &redis.queue_config()),
            WebhookConfig::with_secret(SECRET),
        )
        .unwrap();
        let http_config = HttpConfig {
            bind_addr: "127.0.0.1:0".parse().unwrap(),
            workers: 1,
        };
        let (server, addr) = http::listen(state, &http_config).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        let mut pipeline = Self {
            w,
            redis,
            webhook_url: format!("http://{addr}/api/webhooks/google-calendar"),
            server: handle,
            workers: Vec::new(),
            sweep_stop: None,
        };
        if options.workers {
            pipeline.start_workers(options.concurrency, options.sweep_interval);
        }
        pipeline
    }

    /// What the real jobs run with, against this pipeline's emulator and database.
    pub fn job_context(&self) -> JobContext {
        JobContext {
            db: self.w.db.db(),
            sync: self.w.ctx.clone(),
            push_batch_cases: 200,
            // As the worker runs by default: 90% of Google's per-user quota.
            push_pacer: calsync::outbound::Pacer::per_minute(Some(540)),
        }
    }

    /// Starts both workers and the outbox sweep.
    pub fn start_workers(&mut self, concurrency: usize, sweep_interval: Duration) {
        let ctx = Arc::new(self.job_context());
        self.workers.push(
            self.redis
                .start_calendar_worker(self.job_context(), concurrency),
        );
        let (push_queue, settings) = (
            self.redis
                .queue(jobs::push_case_changes::PushCaseChanges::QUEUE),
            self.redis.worker_settings(concurrency),
        );
        self.workers.push(TestWorker::spawn(move |stop| {
            jobs::run_job_worker::<calsync::jobs::push_case_changes::PushCaseChanges>(
                ctx, push_queue, settings, stop,
            )
        }));
        let (tx, rx) = oneshot::channel::<()>();
        let queue = JobQueue::new(self.redis.conn(), &self.redis.queue_config());
        tokio::spawn(outbox_sweep::run(
            self.w.db.db(),
            queue,
            sweep_interval,
            async move {
                let _ = rx.await;
            },
        ));
        self.sweep_stop = Some(tx);
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

    /// Stops both workers and the sweep (as if the worker processes were down); the webhook
    /// keeps recording jobs in Redis. `start_workers` starts them again.
    pub async fn stop_workers(&mut self) {
        if let Some(tx) = self.sweep_stop.take() {
            let _ = tx.send(());
        }
        for worker in self.workers.drain(..) {
            worker.stop().await.unwrap();
        }
    }

    pub async fn stop(mut self) {
        self.stop_workers().await;
        self.server.stop(true).await;
    }
}
