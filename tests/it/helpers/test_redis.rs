//! Redis for tests: a random namespace per test on the shared server (deleted key by key on
//! Drop, never FLUSHDB), in-process workers against it, and throwaway `redis-server`
//! processes for outage tests.

use std::future::Future;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use calsync::config::{QueueConfig, RedisConfig, unique_name};
use calsync::jobs::process_calendar_changes::ProcessCalendarChanges;
use calsync::jobs::{self, JobContext, JobError, WorkerSettings};
use calsync::queue::backend::BackendSettings;
use calsync::queue::{self, QueueDepth, RedisQueue};
use redis::aio::ConnectionManager;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The shared server. `TEST_REDIS_URL` overrides the local default.
pub fn server_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

pub struct TestRedis {
    url: String,
    namespace: String,
}

impl TestRedis {
    /// A fresh namespace on the shared server.
    pub fn new() -> Self {
        Self::at(&server_url())
    }

    /// A fresh namespace on the server at `url`.
    pub fn at(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            namespace: format!("calsync-test-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Queue settings for this namespace, with leases and backoff short enough for tests.
    pub fn queue_config(&self) -> QueueConfig {
        let mut c = QueueConfig::with_namespace(&self.namespace);
        c.lease = Duration::from_secs(2);
        c.backoff_base = Duration::from_millis(50);
        c.backoff_max = Duration::from_millis(500);
        c
    }

    pub fn conn(&self) -> ConnectionManager {
        queue::connect(&RedisConfig::for_url(&self.url)).expect("Redis client")
    }

    /// The `ProcessCalendarChanges` queue in this namespace.
    pub fn calendar_changes(&self) -> RedisQueue {
        self.queue(ProcessCalendarChanges::QUEUE)
    }

    pub fn queue(&self, name: &str) -> RedisQueue {
        RedisQueue::new(self.conn(), &self.namespace, name)
    }

    /// The waiting `ProcessCalendarChanges` jobs, oldest first.
    pub async fn waiting_calendar_changes(&self) -> Vec<ProcessCalendarChanges> {
        waiting(&self.calendar_changes()).await
    }

    pub async fn depth(&self) -> QueueDepth {
        self.calendar_changes().depth().await.unwrap()
    }

    pub async fn counter(&self, event: &str) -> u64 {
        counter(&self.calendar_changes(), event).await
    }

    /// Worker settings for this namespace (a fresh worker name each call).
    pub fn worker_settings(&self, concurrency: usize) -> WorkerSettings {
        WorkerSettings {
            backend: BackendSettings::new(&unique_name("test-worker"), &self.queue_config()),
            concurrency,
            shutdown_grace: Duration::from_secs(5),
        }
    }

    /// Starts the real `ProcessCalendarChanges` worker in this process.
    pub fn start_calendar_worker(&self, ctx: JobContext, concurrency: usize) -> TestWorker {
        let queue = self.calendar_changes();
        let settings = self.worker_settings(concurrency);
        TestWorker::spawn(move |stop| {
            jobs::run_job_worker::<calsync::jobs::process_calendar_changes::ProcessCalendarChanges>(
                Arc::new(ctx),
                queue,
                settings,
                stop,
            )
        })
    }

    /// Starts a worker for any job type and handler on queue `name`.
    pub fn start_worker<T, H, Fut>(
        &self,
        name: &str,
        settings: WorkerSettings,
        handler: H,
    ) -> TestWorker
    where
        T: DeserializeOwned + Send + 'static,
        H: Fn(T, Arc<()>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let queue = self.queue(name);
        TestWorker::spawn(move |stop| {
            jobs::run_worker(queue, settings, Arc::new(()), handler, stop)
        })
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
            return;
        };
        let pattern = format!("{}:*", self.namespace);
        let keys: Vec<String> = match redis::cmd("SCAN")
            .arg(0)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter::<String>(&mut conn)
        {
            Ok(iter) => iter.filter_map(Result::ok).collect(),
            Err(_) => return,
        };
        for chunk in keys.chunks(500) {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(chunk).query(&mut conn);
        }
    }
}

/// The waiting jobs of `queue`, decoded, oldest first.
pub async fn waiting<T: DeserializeOwned>(queue: &RedisQueue) -> Vec<T> {
    queue
        .ready_jobs()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, p)| serde_json::from_str(&p).unwrap())
        .collect()
}

pub async fn counter(queue: &RedisQueue, event: &str) -> u64 {
    queue
        .counters()
        .await
        .unwrap()
        .get(event)
        .copied()
        .unwrap_or(0)
}

/// A worker running on this test's runtime; stop it with [`TestWorker::stop`].
pub struct TestWorker {
    stop: Option<oneshot::Sender<()>>,
    join: JoinHandle<anyhow::Result<()>>,
}

impl TestWorker {
    pub fn spawn<F, Fut>(run: F) -> Self
    where
        F: FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<()>();
        let stop = Box::pin(async move {
            let _ = rx.await;
        });
        let join = tokio::spawn(run(stop));
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

/// Polls `check` every 20 ms until it is true or `within` passes; returns the time taken.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `redis-server` of the test's own on a free port, for outage tests (the shared server
/// must never be stopped). Killed on Drop.
pub struct ThrowawayRedis {
    port: u16,
    child: Option<Child>,
}

impl ThrowawayRedis {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Self { port, child: None };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (no shutdown, nothing saved).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server (again) on the same port and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        let start = Instant::now();
        loop {
            if let Ok(mut c) = client.get_connection_with_timeout(Duration::from_millis(200))
                && redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
