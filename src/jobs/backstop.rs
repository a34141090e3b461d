//! The backstop, once per fleet: Google says push notifications are "not 100% reliable", so
//! a channel that has had no notification and no sync for `BACKSTOP_SYNC_INTERVAL_SECS` is
//! synced without one. Each channel has its own due time (`backstop_due_at`); every worker
//! looks for due channels every `BACKSTOP_CHECK_INTERVAL_MS` and claims them with
//! `FOR UPDATE SKIP LOCKED`, moving their due time in the same statement, so each poll is
//! made by one worker. A channel that notified or synced within the interval is pushed back
//! instead of polled. The job is the ordinary `ProcessCalendarChanges` (message number 0 =
//! "no notification"), coalesced with any waiting job; with nothing changed it costs one
//! events.list.

use std::time::Duration;

use chrono::Utc;
use rand::Rng;

use super::JobQueue;
use super::process_calendar_changes::ProcessCalendarChanges;
use crate::db::models::{calendar_channel, channel_duty};
use crate::db::{Db, DbError};
use crate::queue::EnqueueOutcome;

/// Channels one check claims, at most (the rest wait for the next check).
const PER_CHECK: i64 = 2000;

fn backstop_job(channel_id: String, resource_id: String) -> ProcessCalendarChanges {
    ProcessCalendarChanges {
        channel_id,
        resource_id,
        message_number: 0,
        received_at: Utc::now(),
    }
}

/// Enqueues a sync for every active channel at once, whatever its due time (an operator's
/// catch-up); returns how many new jobs that made (the rest coalesced into waiting jobs).
pub async fn enqueue_all_active(db: &Db, queue: &JobQueue) -> anyhow::Result<usize> {
    let channels = db
        .run(|conn| Ok::<_, DbError>(calendar_channel::list_active(conn)?))
        .await?;
    let mut created = 0;
    for channel in channels {
        let job = backstop_job(channel.channel_id, channel.resource_id);
        if matches!(
            queue.enqueue_backstop(&job).await?,
            EnqueueOutcome::Accepted { .. }
        ) {
            created += 1;
        }
    }
    Ok(created)
}

/// Claims the channels whose backstop poll is due and enqueues their syncs; returns how many
/// were enqueued. A sync that cannot be enqueued (Redis away) is made due again at once.
pub async fn enqueue_due(db: &Db, queue: &JobQueue, interval: Duration) -> anyhow::Result<usize> {
    let due = db
        .run(move |conn| {
            Ok::<_, DbError>(channel_duty::claim_backstops(conn, interval, PER_CHECK)?)
        })
        .await?;
    let mut enqueued = 0;
    for channel in due {
        let row = channel.id;
        match queue
            .enqueue_backstop(&backstop_job(channel.channel_id, channel.resource_id))
            .await
        {
            Ok(_) => enqueued += 1,
            Err(e) => {
                log::warn!("backstop sync of channel row {row} not enqueued: {e}");
                db.run(move |conn| Ok::<_, DbError>(channel_duty::backstop_due_now(conn, row)?))
                    .await?;
            }
        }
    }
    Ok(enqueued)
}

/// Looks for due backstop polls every `check_every` (varied by ±25%, so the fleet's checks
/// do not line up), forever.
pub async fn run(db: Db, queue: JobQueue, interval: Duration, check_every: Duration) {
    loop {
        let factor = rand::rng().random_range(0.75..1.25);
        tokio::time::sleep(check_every.mul_f64(factor)).await;
        match enqueue_due(&db, &queue, interval).await {
            Ok(0) => {}
            Ok(n) => log::debug!("backstop: {n} channel sync(s) enqueued"),
            Err(e) => log::warn!("backstop check failed (the next one retries): {e:#}"),
        }
    }
}
