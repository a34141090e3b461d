//! Runs one apalis worker on one queue until told to stop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use apalis::layers::WorkerBuilderExt;
use apalis_core::builder::{WorkerBuilder, WorkerFactoryFn};
use apalis_core::layers::extensions::Data;
use apalis_core::worker::Event;
use serde::de::DeserializeOwned;

use super::RedisQueue;
use super::backend::{BackendSettings, JobLease, RedisBackend};

/// How a job's attempt failed, as its handler tells the queue (the handler asked the retry
/// policy). A handler that returns `Ok` is done.
#[derive(Debug, thiserror::Error)]
pub enum JobFailure {
    /// Run it again after `after`, counting the attempt (the dead set once attempts are used
    /// up is the policy's call, made before this is returned).
    #[error("{error:#} (retry in {after:?})")]
    Retry {
        after: Duration,
        error: anyhow::Error,
    },
    /// Run it again after `after` without counting the attempt: it only had to wait.
    #[error("{error:#} (deferred by {after:?})")]
    Defer {
        after: Duration,
        error: anyhow::Error,
    },
    /// Never run it again; it goes to the dead set, kept for inspection.
    #[error("{0:#}")]
    Dead(anyhow::Error),
}

/// How a worker process runs one queue.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub backend: BackendSettings,
    pub concurrency: usize,
    /// After the stop signal, how long running jobs may take before they are handed back.
    pub shutdown_grace: Duration,
}

/// Runs `handler` for every job of `queue` with apalis (concurrency, panics caught and sent
/// to the dead set) until `shutdown` resolves, then stops gracefully: no new job is leased,
/// running jobs get `shutdown_grace` to finish and record their outcome, and whatever this
/// worker still holds is handed back to the queue, so no job is lost.
///
/// Returns an error if the worker ends without being asked to; the process should then exit
/// non-zero so its supervisor restarts it.
pub async fn run_worker<T, C, H, Fut>(
    queue: RedisQueue,
    settings: WorkerSettings,
    ctx: Arc<C>,
    handler: H,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()>
where
    T: DeserializeOwned + Send + 'static,
    C: Send + Sync + 'static,
    H: Fn(T, Arc<C>, u32) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobFailure>> + Send + 'static,
{
    let name = settings.backend.worker.clone();
    let queue_name = queue.name().to_owned();
    let backend = RedisBackend::<T>::new(queue, settings.backend.clone());
    let service = move |job: T, ctx: Data<Arc<C>>, lease: JobLease| {
        let handler = handler.clone();
        async move {
            handler(job, (*ctx).clone(), lease.attempt)
                .await
                .map_err(|f| apalis_core::error::Error::Failed(Arc::new(Box::new(f))))
        }
    };
    let worker = WorkerBuilder::new(&name)
        .data(ctx)
        .concurrency(settings.concurrency)
        .catch_panic()
        .backend(backend.clone())
        .build_fn(service)
        .on_event(|e| {
            if let Event::Error(err) = e.inner() {
                log::debug!("worker {}: {err}", e.id());
            }
        });
    let runnable = worker.run();
    let handle = runnable.get_handle();
    let mut task = tokio::spawn(runnable);
    log::info!(
        "worker {name} started on queue {queue_name} with concurrency {}",
        settings.concurrency
    );

    tokio::pin!(shutdown);
    tokio::select! {
        joined = &mut task => {
            joined.context("worker task panicked")?;
            anyhow::bail!("worker {name} stopped without being asked to");
        }
        () = &mut shutdown => {}
    }

    log::info!(
        "worker {name} stopping: waiting up to {:?} for running jobs",
        settings.shutdown_grace
    );
    handle.stop();
    if tokio::time::timeout(settings.shutdown_grace, &mut task)
        .await
        .is_err()
    {
        task.abort();
        log::warn!("worker {name}: running jobs did not finish within the grace period");
    }
    let released = backend
        .release_all()
        .await
        .context("handing unfinished jobs back to the queue")?;
    if released > 0 {
        log::warn!("worker {name} handed {released} unfinished job(s) back to the queue");
    }
    log::info!("worker {name} stopped");
    Ok(())
}
