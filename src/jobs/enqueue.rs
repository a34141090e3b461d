//! How jobs are enqueued: one method per job type, so HTTP code and the periodic duties
//! never touch Redis keys themselves.

use redis::aio::ConnectionManager;

use super::process_calendar_changes::ProcessCalendarChanges;
use super::push_case_changes::PushCaseChanges;
use crate::config::QueueConfig;
use crate::ids::UserId;
use crate::queue::{EnqueueOutcome, GroupCommit, QueueError, Record, RedisQueue};

/// The queues the HTTP side writes to. One method per job type; HTTP code never touches
/// Redis keys itself.
#[derive(Clone)]
pub struct JobQueue {
    calendar_changes: RedisQueue,
    /// Every `ProcessCalendarChanges` goes through here: one script call per group.
    recorder: GroupCommit,
    pushes: RedisQueue,
    /// Not a queue: the shared quota's counters (`crate::quota`), read for the metrics.
    quota_stats: RedisQueue,
    conn: ConnectionManager,
}

impl JobQueue {
    pub fn new(conn: ConnectionManager, config: &QueueConfig) -> Self {
        let calendar_changes = RedisQueue::new(
            conn.clone(),
            &config.namespace,
            ProcessCalendarChanges::QUEUE,
        );
        Self {
            recorder: GroupCommit::new(calendar_changes.clone(), config.dedup_ttl),
            calendar_changes,
            pushes: RedisQueue::new(conn.clone(), &config.namespace, PushCaseChanges::QUEUE),
            quota_stats: RedisQueue::new(
                conn.clone(),
                &config.namespace,
                crate::quota::metrics::STATS_QUEUE,
            ),
            conn,
        }
    }

    /// The same queues, with notifications recorded over `conn` through a group commit of
    /// their own (one per HTTP worker thread in `serve`).
    pub fn with_recorder_connection(&self, conn: ConnectionManager) -> Self {
        Self {
            recorder: self.recorder.on_connection(conn),
            ..self.clone()
        }
    }

    /// Records a `ProcessCalendarChanges` job unless one for the channel is already waiting
    /// (coalesced) or the channel's highest recorded message number is at least this one's
    /// (duplicate: covered, see `docs/queue.md`). Grouped with concurrent calls into one
    /// script call; answers once this one is recorded.
    pub async fn enqueue_calendar_changes(
        &self,
        job: &ProcessCalendarChanges,
    ) -> Result<EnqueueOutcome, QueueError> {
        let payload = serde_json::to_string(job)?;
        Ok(self
            .recorder
            .submit(Record {
                channel: job.channel_id.clone(),
                message_number: job.message_number.max(1),
                payload,
            })
            .await?)
    }

    /// Records a `ProcessCalendarChanges` job that no notification caused (the backstop,
    /// a channel the webhook could not record): never a duplicate, coalesced with a job
    /// already waiting for the channel.
    pub async fn enqueue_backstop(
        &self,
        job: &ProcessCalendarChanges,
    ) -> Result<EnqueueOutcome, QueueError> {
        let payload = serde_json::to_string(job)?;
        Ok(self
            .recorder
            .submit(Record {
                channel: job.channel_id.clone(),
                message_number: 0,
                payload,
            })
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

    /// The group commit in front of the `ProcessCalendarChanges` queue (its call count).
    pub fn recorder(&self) -> &GroupCommit {
        &self.recorder
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
