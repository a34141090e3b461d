//! Redis for tests: a random namespace per test on the shared server (deleted key by key on
//! Drop, never FLUSHDB), in-process workers against it, and throwaway `redis-server`
//! processes for outage tests.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use calsync::config::{QueueConfig, RedisConfig, unique_name};
use calsync::jobs::process_calendar_changes::ProcessCalendarChanges;
use calsync::queue::backend::BackendSettings;
use calsync::queue::{self, JobFailure, QueueDepth, RedisQueue, WorkerSettings};
use calsync::retry::RetryPolicy;

use super::process::ChildProcess;
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
    /// Set by tests that leave jobs behind on purpose (see `Drop`).
    jobs_may_remain: AtomicBool,
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
            jobs_may_remain: AtomicBool::new(false),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The test says jobs stay in its namespace when it ends (it only enqueues, or it
    /// checks what a failure leaves); without this, leftover jobs fail the test.
    pub fn expect_jobs_left(&self) {
        self.jobs_may_remain.store(true, Ordering::SeqCst);
    }

    /// Queue settings for this namespace, with leases short enough for tests.
    pub fn queue_config(&self) -> QueueConfig {
        let mut c = QueueConfig::with_namespace(&self.namespace);
        c.lease = Duration::from_secs(2);
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

    /// Queue runner settings for this namespace (a fresh worker name each call).
    pub fn worker_settings(&self, concurrency: usize) -> WorkerSettings {
        WorkerSettings {
            backend: BackendSettings::new(
                &unique_name("test-worker"),
                &self.queue_config(),
                &retry_policy(),
            ),
            concurrency,
            shutdown_grace: Duration::from_secs(5),
        }
    }

    /// Jobs in any state in this namespace's queues: (key, count) for each non-empty one.
    pub fn leftover_jobs(&self) -> Vec<(String, u64)> {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return Vec::new();
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
            return Vec::new();
        };
        let mut left = Vec::new();
        for key in scan(&mut conn, &format!("{}:*", self.namespace)) {
            let n: redis::RedisResult<u64> = if key.ends_with(":ready") {
                redis::cmd("LLEN").arg(&key).query(&mut conn)
            } else if key.ends_with(":delayed")
                || key.ends_with(":inflight")
                || key.ends_with(":dead")
            {
                redis::cmd("ZCARD").arg(&key).query(&mut conn)
            } else {
                continue;
            };
            if let Ok(n @ 1..) = n {
                left.push((key, n));
            }
        }
        left
    }

    /// Runs the queue runtime alone for any job type and handler on queue `name` (tests of
    /// the queue itself; the application's worker is `helpers::worker`).
    pub fn start_worker<T, H, Fut>(
        &self,
        name: &str,
        settings: WorkerSettings,
        handler: H,
    ) -> TestWorker
    where
        T: DeserializeOwned + Send + 'static,
        H: Fn(T, Arc<()>, u32) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobFailure>> + Send + 'static,
    {
        let queue = self.queue(name);
        TestWorker::spawn(move |stop| {
            queue::run_worker(queue, settings, Arc::new(()), handler, stop)
        })
    }
}

/// The retry policy of tests: the defaults with backoff short enough to wait out.
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(50),
        cap: Duration::from_millis(500),
        in_run_base: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

fn scan(conn: &mut redis::Connection, pattern: &str) -> Vec<String> {
    // `cursor_arg` lets the iterator move the cursor; a fixed 0 would scan from the start
    // forever once the keyspace needs more than one batch.
    match redis::cmd("SCAN")
        .cursor_arg(0)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(1000)
        .clone()
        .iter::<String>(conn)
    {
        Ok(iter) => iter.filter_map(Result::ok).collect(),
        Err(_) => Vec::new(),
    }
}

impl Drop for TestRedis {
    /// Fails the test if jobs were left behind (enqueued but never exercised, or dead)
    /// unless it said so, then deletes the namespace's keys (never FLUSHDB).
    fn drop(&mut self) {
        let leftovers = if std::thread::panicking() || self.jobs_may_remain.load(Ordering::SeqCst) {
            Vec::new()
        } else {
            self.leftover_jobs()
        };
        if let Ok(client) = redis::Client::open(self.url.as_str())
            && let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1))
        {
            let keys = scan(&mut conn, &format!("{}:*", self.namespace));
            for chunk in keys.chunks(500) {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(chunk).query(&mut conn);
            }
        }
        assert!(
            leftovers.is_empty(),
            "the test left jobs in Redis (call expect_jobs_left() if that is the point): {leftovers:?}"
        );
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
    server: Option<ChildProcess>,
    /// With an append-only file here (fsynced on every write), as production runs Redis: a
    /// restart keeps every job.
    aof_dir: Option<PathBuf>,
}

impl ThrowawayRedis {
    /// Without persistence: a restart loses everything.
    pub fn start() -> Self {
        Self::start_in(None)
    }

    /// With AOF and `appendfsync always` in a fresh directory, as production should run it.
    pub fn start_persistent() -> Self {
        let dir =
            std::env::temp_dir().join(format!("calsync-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self::start_in(Some(dir))
    }

    fn start_in(aof_dir: Option<PathBuf>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Self {
            port,
            server: None,
            aof_dir,
        };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (no shutdown, nothing saved).
    pub fn kill(&mut self) {
        self.server = None;
    }

    /// Starts the server (again) on the same port and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match &self.aof_dir {
            Some(dir) => command
                .args(["--appendonly", "yes", "--appendfsync", "always"])
                .arg("--dir")
                .arg(dir),
            None => command.args(["--appendonly", "no"]),
        };
        self.server = Some(ChildProcess::spawn(&mut command, "redis-server"));
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
        if let Some(dir) = &self.aof_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
