//! Ending a channel's hold (`ChannelStatus::Held`): a sync found most of the calendar's
//! deadlines gone at once and dismissed none. An operator (or, through the user API, the
//! user) decides: the deletions were the user's (dismiss them), or the events should be
//! there (push them again).

use diesel::Connection;

use crate::db::DbError;
use crate::db::models::calendar_channel::{self, ChannelStatus};
use crate::db::models::{case_event_link, outbox};
use crate::inbound::{SyncContext, SyncError, SyncOutcome, list_all, sync_channel};

/// What to do with the deadlines whose events are gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Dismiss,
    Repush,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    #[error("no channel {0}")]
    Unknown(String),
    #[error("channel {0} is not held")]
    NotHeld(String),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl From<DbError> for ReleaseError {
    fn from(e: DbError) -> Self {
        Self::Sync(e.into())
    }
}

/// Releases the hold and syncs the channel once (a full listing). With `Repush`, the live
/// deadlines whose events the listing does not show are put back: each is marked removed
/// (so its next event has a new id) and its case queued for the push.
pub async fn release_hold(
    ctx: &SyncContext,
    channel_id: &str,
    resolution: Resolution,
) -> Result<SyncOutcome, ReleaseError> {
    let id = channel_id.to_owned();
    let channel = ctx
        .db
        .run(move |conn| Ok::<_, DbError>(calendar_channel::find_by_channel_id(conn, &id)?))
        .await?
        .ok_or_else(|| ReleaseError::Unknown(channel_id.to_owned()))?;
    if channel.status != ChannelStatus::Held {
        return Err(ReleaseError::NotHeld(channel_id.to_owned()));
    }
    if resolution == Resolution::Repush {
        let mut session = ctx.google.session(channel.user_id);
        let started_at = chrono::Utc::now();
        let listing = list_all(
            &mut session,
            &channel.calendar_id,
            None,
            ctx.settings.page_size,
            &ctx.retry,
            || async { Ok(()) },
        )
        .await
        .map_err(SyncError::from)?;
        let seen: Vec<String> = listing
            .events
            .iter()
            .filter(|e| !e.is_cancelled())
            .filter_map(|e| e.id.clone())
            .collect();
        let (user_id, calendar) = (channel.user_id, channel.calendar_id.clone());
        ctx.db
            .run(move |conn| {
                conn.transaction(|conn| {
                    let missing =
                        case_event_link::missing_from(conn, user_id, &calendar, &seen, started_at)?;
                    let mut cases = Vec::new();
                    for link in &missing {
                        case_event_link::mark_removed(conn, link.id)?;
                        cases.push(link.case_id);
                    }
                    cases.sort_unstable();
                    cases.dedup();
                    outbox::enqueue_cases(conn, user_id, &cases).map(|_| ())
                })
                .map_err(DbError::from)
            })
            .await?;
    }
    let (row, confirm) = (channel.id, resolution == Resolution::Dismiss);
    ctx.db
        .run(move |conn| Ok::<_, DbError>(calendar_channel::release_hold(conn, row, confirm)?))
        .await?;
    Ok(sync_channel(ctx, &channel.channel_id).await?)
}
