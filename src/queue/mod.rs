//! The job queue: a reliable queue on Redis, written for calsync, behind apalis's worker
//! runtime.
//!
//! Why not apalis-redis: see README "Job queue". In short, coalescing without loss needs the
//! "a job for this channel is waiting" marker, the dedup key and the push to be one atomic
//! step, and neither apalis-redis line offers that; 1.0.0 also wedges on large backlogs and
//! stalls pickups, and 0.7.4 re-queues live workers' jobs on every worker start and retries
//! without backoff. So the storage is ours (Lua scripts in `lua/`, one call each) and apalis
//! 0.7.4 (`WorkerBuilder`, layers, concurrency, graceful stop) runs the jobs.
//!
//! - [`store::RedisQueue`]: one named queue, untyped, one method per script.
//! - [`JobQueue`]: what the HTTP side enqueues through (one method per job type).
//! - [`backend::RedisBackend`]: apalis `Backend` for the worker (leases, heartbeats,
//!   reaping, retry with backoff, dead set).

pub mod backend;
pub mod store;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;

use crate::config::{QueueConfig, RedisConfig};
use crate::ids::UserId;
use crate::jobs::process_calendar_changes::ProcessCalendarChanges;
use crate::jobs::push_case_changes::PushCaseChanges;
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
}

/// A Redis connection that reconnects by itself and is created without connecting, so a
/// process can start (and report itself not ready) while Redis is down.
pub fn connect(config: &RedisConfig) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(config.url.expose_secret())?;
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    client.get_connection_manager_lazy(manager_config)
}

/// The queues the HTTP side writes to. One method per job type; HTTP code never touches
/// Redis keys itself.
#[derive(Clone)]
pub struct JobQueue {
    calendar_changes: RedisQueue,
    pushes: RedisQueue,
    dedup_ttl: Duration,
    conn: ConnectionManager,
}

impl JobQueue {
    pub fn new(conn: ConnectionManager, config: &QueueConfig) -> Self {
        Self {
            calendar_changes: RedisQueue::new(
                conn.clone(),
                &config.namespace,
                ProcessCalendarChanges::QUEUE,
            ),
            pushes: RedisQueue::new(conn.clone(), &config.namespace, PushCaseChanges::QUEUE),
            dedup_ttl: config.dedup_ttl,
            conn,
        }
    }

    /// Records a `ProcessCalendarChanges` job unless one for the channel is already waiting
    /// (coalesced) or this (channel, message number) was seen (duplicate).
    pub async fn enqueue_calendar_changes(
        &self,
        job: &ProcessCalendarChanges,
    ) -> Result<EnqueueOutcome, QueueError> {
        let payload = serde_json::to_string(job)?;
        let dedup_key = format!("{}:{}", job.channel_id, job.message_number);
        Ok(self
            .calendar_changes
            .enqueue(
                &payload,
                Some((&dedup_key, self.dedup_ttl)),
                Some(&job.channel_id),
            )
            .await?)
    }

    /// Records a `ProcessCalendarChanges` job that no notification caused (the backstop):
    /// no dedup key, coalesced with a job already waiting for the channel.
    pub async fn enqueue_backstop(
        &self,
        job: &ProcessCalendarChanges,
    ) -> Result<EnqueueOutcome, QueueError> {
        let payload = serde_json::to_string(job)?;
        Ok(self
            .calendar_changes
            .enqueue(&payload, None, Some(&job.channel_id))
            .await?)
    }

    /// Records a `PushCaseChanges` job for the user unless one is already waiting.
    pub async fn enqueue_push(&self, user_id: UserId) -> Result<EnqueueOutcome, QueueError> {
        let payload = serde_json::to_string(&PushCaseChanges { user_id })?;
        Ok(self
            .pushes
            .enqueue(&payload, None, Some(&user_id.to_string()))
            .await?)
    }

    /// The `PushCaseChanges` queue itself.
    pub fn pushes(&self) -> &RedisQueue {
        &self.pushes
    }

    /// The `ProcessCalendarChanges` queue itself (depth, counters, inspection).
    pub fn calendar_changes(&self) -> &RedisQueue {
        &self.calendar_changes
    }

    /// Whether Redis answers.
    pub async fn ping(&self) -> Result<(), QueueError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}
