//! apalis `Backend` over [`RedisQueue`]: the worker side of the queue.
//!
//! - Jobs are leased one at a time and only when apalis has a free concurrency slot, so no
//!   job sits prefetched (invisible) in a worker.
//! - An idle worker asks again after `poll_interval`; every wait is a fresh timer, so a
//!   missed wake-up cannot stall pickups (the apalis-redis 1.0.0 defect).
//! - The heartbeat renews this worker's leases every `lease / 3` and reaps every expired
//!   lease (a crashed worker's jobs) back to the ready list.
//! - The ack layer records each attempt's end inside the tracked job future, so a graceful
//!   stop waits for it: done, retry or deferral after the delay the handler's
//!   [`JobFailure`] names (the retry policy's decision), or dead.
//! - Redis errors never stop the worker: fetches back off and resume when Redis returns.

use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use apalis_core::backend::Backend;
use apalis_core::codec::NoopCodec;
use apalis_core::error::{BoxDynError, Error};
use apalis_core::poller::Poller;
use apalis_core::request::Request;
use apalis_core::service_fn::FromRequest;
use apalis_core::worker::{Context as WorkerContext, Worker};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use super::JobFailure;
use super::store::{Finish, RedisQueue};
use crate::config::QueueConfig;
use crate::retry::{Decision, Failure, RetryPolicy, Work};

/// How one worker process uses the queue.
#[derive(Debug, Clone)]
pub struct BackendSettings {
    /// Unique per process start; owns the leases.
    pub worker: String,
    pub lease: Duration,
    pub poll_interval: Duration,
    /// Decides for failures no handler classified (and how many crash redeliveries a job
    /// gets before the dead set).
    pub retry: RetryPolicy,
}

impl BackendSettings {
    pub fn new(worker: &str, config: &QueueConfig, retry: &RetryPolicy) -> Self {
        Self {
            worker: worker.to_owned(),
            lease: config.lease,
            poll_interval: config.poll_interval,
            retry: retry.clone(),
        }
    }
}

/// The lease a job runs under; handlers may take it as an argument.
#[derive(Debug, Clone, Default)]
pub struct JobLease {
    pub job_id: String,
    /// 1 on the first run.
    pub attempt: u32,
}

impl<T> FromRequest<Request<T, JobLease>> for JobLease {
    fn from_request(req: &Request<T, JobLease>) -> Result<Self, Error> {
        Ok(req.parts.context.clone())
    }
}

struct Shared {
    queue: RedisQueue,
    settings: BackendSettings,
    /// Jobs this process is running; their leases are renewed.
    running: Mutex<HashSet<String>>,
}

impl Shared {
    fn running(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A panic elsewhere cannot leave the set half-updated; keep using it.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The backend of one apalis worker for jobs of type `T` on one queue.
pub struct RedisBackend<T> {
    shared: Arc<Shared>,
    _job: PhantomData<fn() -> T>,
}

impl<T> Clone for RedisBackend<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            _job: PhantomData,
        }
    }
}

impl<T> RedisBackend<T> {
    pub fn new(queue: RedisQueue, settings: BackendSettings) -> Self {
        Self {
            shared: Arc::new(Shared {
                queue,
                settings,
                running: Mutex::new(HashSet::new()),
            }),
            _job: PhantomData,
        }
    }

    /// Hands every job this worker still holds back to the queue (called after a stop, for
    /// jobs interrupted by the grace period or leased while stopping).
    pub async fn release_all(&self) -> Result<u64, redis::RedisError> {
        self.shared
            .queue
            .release(&self.shared.settings.worker)
            .await
    }
}

impl<T> Backend<Request<T, JobLease>> for RedisBackend<T>
where
    T: DeserializeOwned + Send + 'static,
{
    type Stream = BoxStream<'static, Result<Option<Request<T, JobLease>>, Error>>;
    type Layer = AckLayer;
    type Codec = NoopCodec<String>;

    fn poll(self, worker: &Worker<WorkerContext>) -> Poller<Self::Stream, Self::Layer> {
        let shared = self.shared.clone();
        let stream =
            futures::stream::unfold((shared.clone(), 0u32), |(shared, failures)| async move {
                let (item, failures) = next_job::<T>(&shared, failures).await;
                Some((item, (shared, failures)))
            })
            .boxed();
        let heartbeat = heartbeat(shared.clone(), worker.id().to_string());
        Poller::new_with_layer(stream, heartbeat, AckLayer { shared })
    }
}

/// Waits for the next job. A Redis error is returned (apalis logs it and polls again) after
/// a growing pause, so an outage neither spins nor stops the worker.
async fn next_job<T: DeserializeOwned>(
    shared: &Shared,
    mut failures: u32,
) -> (Result<Option<Request<T, JobLease>>, Error>, u32) {
    let s = &shared.settings;
    loop {
        match shared.queue.lease(&s.worker, s.lease).await {
            Ok(Some(leased)) => match serde_json::from_str::<T>(&leased.payload) {
                Ok(args) => {
                    shared.running().insert(leased.id.clone());
                    let lease = JobLease {
                        job_id: leased.id,
                        attempt: leased.attempt,
                    };
                    return (Ok(Some(Request::new_with_ctx(args, lease))), 0);
                }
                Err(e) => {
                    // A payload this build cannot read will never run: dead, not retried.
                    log::error!(
                        "job {} on queue {} does not decode, moved to dead: {e}",
                        leased.id,
                        shared.queue.name()
                    );
                    let why = format!("payload does not decode: {e}");
                    if let Err(e) = shared
                        .queue
                        .finish(&leased.id, &s.worker, Finish::Dead, &why)
                        .await
                    {
                        log::warn!("could not move job {} to dead: {e}", leased.id);
                    }
                }
            },
            Ok(None) => {
                failures = 0;
                tokio::time::sleep(s.poll_interval).await;
            }
            Err(e) => {
                failures += 1;
                let pause = Duration::from_millis(100 << failures.min(5));
                log::warn!(
                    "worker {} cannot fetch from queue {} ({failures} failures in a row; next try in {pause:?}): {e}",
                    s.worker,
                    shared.queue.name()
                );
                tokio::time::sleep(pause).await;
                return (Err(Error::SourceError(Arc::new(Box::new(e)))), failures);
            }
        }
    }
}

async fn heartbeat(shared: Arc<Shared>, worker_name: String) {
    let s = &shared.settings;
    loop {
        match shared.queue.reap_expired(s.retry.max_attempts).await {
            Ok(0) => {}
            Ok(n) => log::warn!(
                "re-queued {n} job(s) on queue {} whose worker stopped renewing its lease",
                shared.queue.name()
            ),
            Err(e) => log::warn!("worker {worker_name}: reaping expired leases failed: {e}"),
        }
        tokio::time::sleep(s.lease / 3).await;
        let ids: Vec<String> = shared.running().iter().cloned().collect();
        if let Err(e) = shared.queue.renew(&s.worker, &ids, s.lease).await {
            log::warn!(
                "worker {worker_name}: renewing {} lease(s) failed: {e}",
                ids.len()
            );
        }
    }
}

/// Records the end of every attempt (see the module doc).
#[derive(Clone)]
pub struct AckLayer {
    shared: Arc<Shared>,
}

impl<S> Layer<S> for AckLayer {
    type Service = AckService<S>;
    fn layer(&self, inner: S) -> AckService<S> {
        AckService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

pub struct AckService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, T> Service<Request<T, JobLease>> for AckService<S>
where
    S: Service<Request<T, JobLease>>,
    S::Error: Into<BoxDynError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<S::Response, BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<T, JobLease>) -> Self::Future {
        let lease = req.parts.context.clone();
        let fut = self.inner.call(req);
        let shared = self.shared.clone();
        async move {
            let result = fut.await.map_err(Into::into);
            let (how, error) = decide(&shared.settings, &lease, result.as_ref().err());
            record(&shared, &lease, how, error).await;
            result
        }
        .boxed()
    }
}

/// How an attempt that ended with `error` (if any) is recorded: as the handler's
/// [`JobFailure`] says; a panic goes to the dead set; any other error is a transient
/// failure for the retry policy.
fn decide(s: &BackendSettings, lease: &JobLease, error: Option<&BoxDynError>) -> (Finish, String) {
    let Some(e) = error else {
        return (Finish::Done, String::new());
    };
    let failure = match e.downcast_ref::<Error>() {
        Some(Error::Failed(inner)) => inner.downcast_ref::<JobFailure>(),
        _ => e.downcast_ref::<JobFailure>(),
    };
    let how = match (failure, e.downcast_ref::<Error>()) {
        (Some(JobFailure::Retry { after, .. }), _) => Finish::Retry { after: *after },
        (Some(JobFailure::Defer { after, .. }), _) => Finish::Defer { after: *after },
        (Some(JobFailure::Dead(_)), _) | (None, Some(Error::Abort(_))) => Finish::Dead,
        (None, _) => match s.retry.decide(Work::Job, Failure::Transient, lease.attempt) {
            Decision::Requeue(after) | Decision::RetryNow(after) => Finish::Retry { after },
            Decision::Defer(after) => Finish::Defer { after },
            Decision::Park(_) | Decision::Drop => Finish::Dead,
        },
    };
    (
        how,
        failure.map_or_else(|| e.to_string(), ToString::to_string),
    )
}

async fn record(shared: &Shared, lease: &JobLease, how: Finish, error: String) {
    let s = &shared.settings;
    match &how {
        Finish::Done => {}
        Finish::Retry { after } => log::warn!(
            "job {} failed on attempt {}; retrying in {after:?}: {error}",
            lease.job_id,
            lease.attempt
        ),
        Finish::Defer { after } => log::debug!(
            "job {} waits {after:?} (attempt not counted): {error}",
            lease.job_id
        ),
        Finish::Dead => log::error!(
            "job {} failed on attempt {} and will not be retried: {error}",
            lease.job_id,
            lease.attempt
        ),
    }
    // If Redis is briefly away, try a few times; if it stays away, the lease runs out (it is
    // no longer renewed once the job leaves `running`) and the job is delivered again.
    for pause_ms in [0u64, 100, 500, 1000] {
        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
        match shared
            .queue
            .finish(&lease.job_id, &s.worker, how, &error)
            .await
        {
            Ok(true) => break,
            Ok(false) => {
                log::warn!(
                    "job {}: lease was lost before the attempt ended; another delivery decides",
                    lease.job_id
                );
                break;
            }
            Err(e) => log::warn!("job {}: recording the attempt failed: {e}", lease.job_id),
        }
    }
    shared.running().remove(&lease.job_id);
}
