//! How jobs are enqueued: one method per job type, so HTTP code and the periodic duties
//! never touch Redis keys themselves.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::process_calendar_changes::ProcessCalendarChanges;
use super::push_case_changes::PushCaseChanges;
use crate::config::QueueConfig;
use crate::ids::UserId;
use crate::queue::{EnqueueOutcome, QueueError, RedisQueue};

/// The queues the HTTP side writes to. One method per job type; HTTP code never touches
/// Redis keys itself.
#[derive(Clone)]
pub struct JobQueue {
    calendar_changes: RedisQueue,
    pushes: RedisQueue,
    /// Not a queue: the shared quota's counters (`crate::quota`), read for the metrics.
    quota_stats: RedisQueue,
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
            quota_stats: RedisQueue::new(
                conn.clone(),
                &config.namespace,
                crate::quota::metrics::STATS_QUEUE,
            ),
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

    /// The shared quota's counters (`counters()` only; nothing is queued there).
    pub fn quota_stats(&self) -> &RedisQueue {
        &self.quota_stats
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
