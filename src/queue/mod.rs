//! The job queue: a reliable queue on Redis, written for calsync, behind apalis's worker
//! runtime.
//!
//! Why not apalis-redis (see `docs/queue.md`): in short, coalescing without loss needs the
//! "a job for this channel is waiting" marker, the dedup key and the push to be one atomic
//! step, and neither apalis-redis line offers that; 1.0.0 also wedges on large backlogs and
//! stalls pickups, and 0.7.4 re-queues live workers' jobs on every worker start and retries
//! without backoff. So the storage is ours (Lua scripts in `lua/`, one call each) and apalis
//! 0.7.4 (`WorkerBuilder`, layers, concurrency, graceful stop) runs the jobs.
//!
//! The queue knows no job payloads: they are JSON strings here, typed by `crate::jobs`.
//!
//! - [`store::RedisQueue`]: one named queue, untyped, one method per script.
//! - [`record`]: notifications recorded per channel in one bounded hash each, many per call;
//!   [`group_commit::GroupCommit`] groups the calls of concurrent callers.
//! - [`backend::RedisBackend`]: apalis `Backend` for the worker (leases, heartbeats,
//!   reaping, retries and deferrals as the handler's [`JobFailure`] says, dead set).
//! - [`runner::run_worker`]: one apalis worker on one queue, with a graceful stop.

pub mod backend;
pub mod fleet;
pub mod group_commit;
pub mod record;
mod runner;
pub mod store;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;

use crate::config::RedisConfig;
pub use group_commit::{GroupCommit, GroupError};
pub use record::Record;
pub use runner::{JobFailure, WorkerSettings, run_worker};
pub use store::{EnqueueOutcome, QueueDepth, RedisQueue};

/// Why a job could not be recorded. Either way nothing is known to be stored, so the caller
/// must not report success (the webhook answers 503 and Google retries).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// Redis refused or could not be reached.
    #[error("Redis is unavailable")]
    Unavailable(#[from] redis::RedisError),
    /// The job could not be encoded (a bug, not an outage).
    #[error("job does not encode")]
    Encode(#[from] serde_json::Error),
    /// The group carrying the job stopped before Redis answered (the runtime shut down).
    #[error("the group recording the job was abandoned")]
    Abandoned,
}

impl From<GroupError> for QueueError {
    fn from(e: GroupError) -> Self {
        match e {
            GroupError::Redis(e) => Self::Unavailable(e),
            GroupError::Abandoned => Self::Abandoned,
        }
    }
}

/// A Redis connection that reconnects by itself and is created without connecting, so a
/// process can start (and report itself not ready) while Redis is down.
pub fn connect(config: &RedisConfig) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(config.url.expose_secret())?;
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.response_timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    client.get_connection_manager_lazy(manager_config)
}
