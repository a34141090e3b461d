//! The backstop: Google says push notifications are "not 100% reliable", so every active
//! channel also gets a sync now and then without one. The job is the ordinary
//! `ProcessCalendarChanges` (message number 0 = "no notification"), coalesced with any waiting
//! job for the channel; with nothing changed it costs one events.list.

use std::time::Duration;

use chrono::Utc;
use rand::Rng;

use super::JobQueue;
use super::process_calendar_changes::ProcessCalendarChanges;
use crate::db::models::calendar_channel;
use crate::db::{Db, DbError};
use crate::queue::EnqueueOutcome;

/// Enqueues a sync for every active channel; returns how many new jobs that made (the rest
/// coalesced into jobs already waiting).
pub async fn enqueue_all_active(db: &Db, queue: &JobQueue) -> anyhow::Result<usize> {
    let channels = db
        .run(|conn| Ok::<_, DbError>(calendar_channel::list_active(conn)?))
        .await?;
    let mut created = 0;
    for channel in channels {
        let job = ProcessCalendarChanges {
            channel_id: channel.channel_id,
            resource_id: channel.resource_id,
            message_number: 0,
            received_at: Utc::now(),
        };
        if matches!(
            queue.enqueue_backstop(&job).await?,
            EnqueueOutcome::Accepted { .. }
        ) {
            created += 1;
        }
    }
    Ok(created)
}

/// Runs a backstop pass every `interval`, varied by ±25% so a fleet of workers does not sync
/// every calendar at the same moment (Google's quota guidance).
pub async fn run(db: Db, queue: JobQueue, interval: Duration) {
    loop {
        let factor = rand::rng().random_range(0.75..1.25);
        tokio::time::sleep(interval.mul_f64(factor)).await;
        match enqueue_all_active(&db, &queue).await {
            Ok(n) => log::debug!("backstop: {n} channel sync(s) enqueued"),
            Err(e) => log::warn!("backstop pass failed (the next one retries): {e:#}"),
        }
    }
}
