//! `ProcessCalendarChanges`: "something changed on this channel's calendar; bring it up to
//! date". Enqueued by the webhook, coalesced per channel. The job records the notification
//! on the channel row, then runs the inbound sync (`crate::inbound`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{JobContext, decide};
use crate::db::DbError;
use crate::db::models::calendar_channel;
use crate::db::models::channel_duty::{self, Throttle};
use crate::inbound::{SyncOutcome, SyncReport, sync_channel};
use crate::queue::JobFailure;
use crate::quota::Cost;
use std::time::Duration;

/// The payload. Fields are only ever added, with `#[serde(default)]`, so jobs queued by the
/// previous release still decode during a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessCalendarChanges {
    /// `X-Goog-Channel-ID`.
    pub channel_id: String,
    /// `X-Goog-Resource-ID`.
    pub resource_id: String,
    /// `X-Goog-Message-Number` of the notification that created the job (later ones
    /// coalesced into it may be higher); 0 for a backstop sync that no notification caused.
    pub message_number: i64,
    /// When calsync received that notification.
    pub received_at: DateTime<Utc>,
}

impl ProcessCalendarChanges {
    /// The queue's name in Redis. Fixed: renaming the type must not orphan queued jobs.
    pub const QUEUE: &'static str = "process_calendar_changes";
}

/// Processes one job.
///
/// Returns `Ok` when done, including for a channel calsync does not know (a stopped or
/// replaced channel still delivers for a while; retrying would not make it known) and for
/// conditions recorded on the rows (a revoked grant, a calendar that is gone): retrying
/// those would fail the same way, and the rows stop later jobs at once.
pub async fn run(
    ctx: &JobContext,
    job: &ProcessCalendarChanges,
    attempt: u32,
) -> Result<(), JobFailure> {
    let (channel_id, number, at) = (job.channel_id.clone(), job.message_number, job.received_at);
    let recorded = ctx
        .sync
        .db
        .run(move |conn| {
            if number > 0 {
                calendar_channel::record_notification(conn, &channel_id, number, at)
            } else {
                calendar_channel::find_by_channel_id(conn, &channel_id).map(|c| c.is_some())
            }
            .map_err(DbError::from)
        })
        .await;
    let known = match recorded {
        Ok(known) => known,
        Err(e) => return decide(&ctx.retry, e, attempt, "recording the notification"),
    };
    if !known {
        // A backstop poll of a channel renewed since it was enqueued is expected (the renewal
        // synced it); a notification for an unknown channel is worth a warning.
        if job.message_number == 0 {
            log::info!(
                "backstop poll of replaced channel {} dropped",
                job.channel_id
            );
        } else {
            log::warn!(
                "dropping notification {} for unknown channel {}",
                job.message_number,
                job.channel_id
            );
        }
        return Ok(());
    }
    // A backstop poll that would only wait for the quota hands itself back instead of
    // holding a worker slot that a notification's sync may need.
    if job.message_number == 0
        && let Some(quota) = ctx.sync.google.quota()
    {
        let id = job.channel_id.clone();
        let user = ctx
            .sync
            .db
            .run(move |conn| {
                Ok::<_, DbError>(
                    calendar_channel::find_by_channel_id(conn, &id)?.map(|c| c.user_id),
                )
            })
            .await;
        if let Ok(Some(user)) = user {
            let wait = quota.room(user, Cost::Call).await;
            if !wait.is_zero() {
                return Err(JobFailure::Defer {
                    after: wait.max(Duration::from_millis(100)),
                    error: anyhow::anyhow!("no room in the quota for a backstop poll yet"),
                });
            }
        }
    }
    if job.message_number > 0
        && let Some(interval) = ctx.sync_min_interval
    {
        let id = job.channel_id.clone();
        let throttle = ctx
            .sync
            .db
            .run(move |conn| Ok::<_, DbError>(channel_duty::throttle(conn, &id, interval)?))
            .await;
        match throttle {
            Ok(Throttle::SyncNow) => {}
            // The one trailing sync of a burst: after the interval, without using an attempt.
            Ok(Throttle::Trail(after)) => {
                return Err(JobFailure::Defer {
                    after,
                    error: anyhow::anyhow!("channel {} synced moments ago", job.channel_id),
                });
            }
            // A trailing sync that starts after this notification is scheduled.
            Ok(Throttle::Joined) => return Ok(()),
            Err(e) => return decide(&ctx.retry, e, attempt, "throttling the sync"),
        }
    }
    match sync_channel(&ctx.sync, &job.channel_id).await {
        Ok(SyncOutcome::Synced(report)) => {
            if job.message_number == 0 {
                found_by_backstop(ctx, &job.channel_id, &report).await;
            }
            log::info!(
                "synced channel {} (message {}): {} event(s) in {} page(s), full={}, applied={}, rejected={}, dismissed={}, echoes={}",
                job.channel_id,
                job.message_number,
                report.events,
                report.pages,
                report.full,
                report.stats.applied,
                report.stats.rejected,
                report.stats.dismissed,
                report.stats.echoes,
            );
            Ok(())
        }
        Ok(SyncOutcome::UnknownChannel) => Ok(()),
        Ok(SyncOutcome::Inactive(status)) => {
            log::info!(
                "channel {} is {}; not syncing",
                job.channel_id,
                status.as_str()
            );
            Ok(())
        }
        Err(e) => decide(
            &ctx.retry,
            e,
            attempt,
            &format!("syncing channel {}", job.channel_id),
        ),
    }
}

/// A backstop poll (no notification asked for it) that found changes: Google's
/// notifications missed them. Counted (`calsync_channel_missed_changes_total`), and the
/// channel is marked suspect, which has it watched again by the next renewal pass. A full
/// listing (no token, or Google invalidated it) finds everything, so it says nothing.
async fn found_by_backstop(ctx: &JobContext, channel_id: &str, report: &SyncReport) {
    if report.full || report.events == 0 {
        return;
    }
    log::warn!(
        "backstop poll of channel {channel_id} found {} change(s) no notification announced; watching it again",
        report.events
    );
    if let Some(quota) = ctx.sync.google.quota() {
        quota.count_missed_change().await;
    }
    let id = channel_id.to_owned();
    let marked = ctx
        .sync
        .db
        .run(move |conn| Ok::<_, DbError>(channel_duty::mark_suspect(conn, &id)?))
        .await;
    if let Err(e) = marked {
        log::warn!("could not mark channel {channel_id} suspect: {e}");
    }
}
