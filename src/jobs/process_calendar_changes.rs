//! `ProcessCalendarChanges`: "something changed on this channel's calendar; bring it up to
//! date". Enqueued by the webhook, coalesced per channel. For now the job records the
//! notification on the channel row; the sync itself (events.list with the stored sync
//! token) extends [`run`] in the sync-engine work.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{JobContext, JobError};
use crate::db::DbError;
use crate::db::models::calendar_channel;

/// The payload. Fields are only ever added, with `#[serde(default)]`, so jobs queued by the
/// previous release still decode during a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessCalendarChanges {
    /// `X-Goog-Channel-ID`.
    pub channel_id: String,
    /// `X-Goog-Resource-ID`.
    pub resource_id: String,
    /// `X-Goog-Message-Number` of the notification that created the job (later ones
    /// coalesced into it may be higher).
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
/// replaced channel still delivers for a while; retrying would not make it known).
pub async fn run(ctx: &JobContext, job: &ProcessCalendarChanges) -> Result<(), JobError> {
    let (channel_id, number, at) = (job.channel_id.clone(), job.message_number, job.received_at);
    let known = ctx
        .db
        .run(move |conn| {
            calendar_channel::record_notification(conn, &channel_id, number, at)
                .map_err(DbError::from)
        })
        .await
        .map_err(JobError::from_db)?;
    if known {
        log::info!(
            "recorded notification {} for channel {}",
            job.message_number,
            job.channel_id
        );
    } else {
        log::warn!(
            "dropping notification {} for unknown channel {}",
            job.message_number,
            job.channel_id
        );
    }
    Ok(())
}
