//! One sync run of one channel: lease, list, commit; and what a failed run records.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;

use super::commit::{Listed, commit};
use super::list::list_all;
use super::{ApplyStats, SyncContext, SyncError};
use crate::account::{AccountError, reauth};
use crate::db::DbError;
use crate::db::models::calendar_channel::{self, CalendarChannel, ChannelStatus};
use crate::google::GoogleError;
use crate::lease::{self, CalendarLease, Taken};
use crate::retry::{Classify, Failure, Parked};

/// A run that ended without error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Synced(SyncReport),
    /// No channel with that id (stopped and deleted, or never ours): nothing to do.
    UnknownChannel,
    /// The channel needs re-authorisation or is stopped: nothing to do until that changes.
    Inactive(ChannelStatus),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// A full listing (no token yet, or Google invalidated it).
    pub full: bool,
    pub pages: usize,
    pub events: usize,
    pub stats: ApplyStats,
    /// Links whose event was absent from a full listing, now marked dismissed.
    pub links_marked_missing: usize,
    /// The run dismissed nothing and held the channel instead (see `ChannelStatus::Held`).
    pub held: Option<String>,
}

/// Brings the channel's calendar up to date. A channel another worker is writing (its sync,
/// or its calendar's push) answers `Busy`: the caller tries again soon (the retry policy
/// defers the job without using an attempt).
pub async fn sync_channel(ctx: &SyncContext, channel_id: &str) -> Result<SyncOutcome, SyncError> {
    let (lease, channel) =
        match lease::take_for_sync(&ctx.db, channel_id, ctx.settings.lease_ttl).await? {
            Taken::Held(lease, channel) => (lease, *channel),
            Taken::Busy => return Err(SyncError::Busy),
            Taken::Inactive(status) => return Ok(SyncOutcome::Inactive(status)),
            Taken::Unknown => return Ok(SyncOutcome::UnknownChannel),
        };
    let result = run_leased(ctx, &channel, &lease).await;
    if let Err(e) = &result {
        record_failure(ctx, &channel, e).await;
    }
    lease.release().await;
    result.map(SyncOutcome::Synced)
}

/// A run under a lease the caller already holds (the push holds its calendar's lease when a
/// 412 says Google has a version of an event it has not seen). The lease stays held.
pub async fn sync_under(ctx: &SyncContext, lease: &CalendarLease) -> Result<SyncReport, SyncError> {
    let row_id = lease.row_id();
    let channel = ctx
        .db
        .run(move |conn| Ok::<_, DbError>(calendar_channel::find(conn, row_id)?))
        .await?
        .ok_or(SyncError::LeaseLost)?;
    let result = run_leased(ctx, &channel, lease).await;
    if let Err(e) = &result {
        record_failure(ctx, &channel, e).await;
    }
    result
}

async fn run_leased(
    ctx: &SyncContext,
    channel: &CalendarChannel,
    lease: &CalendarLease,
) -> Result<SyncReport, SyncError> {
    let started_at = ctx
        .db
        .run(|conn| {
            Ok::<_, DbError>(
                diesel::select(diesel::dsl::sql::<Timestamptz>("now()"))
                    .get_result::<DateTime<Utc>>(conn)?,
            )
        })
        .await?;
    let mut session = ctx.google.session(channel.user_id);
    // The heartbeat keeps the lease; a listing stops early once it is lost.
    let still_held = || async {
        if lease.is_held() {
            Ok(())
        } else {
            Err(AccountError::from(GoogleError::Transient(
                "the calendar's lease was lost".into(),
            )))
        }
    };
    let calendar = channel.calendar_id.as_str();
    let page_size = ctx.settings.page_size;
    let retry = &ctx.retry;
    let (listing, full) = match channel.sync_token.as_deref() {
        Some(token) => {
            match list_all(
                &mut session,
                calendar,
                Some(token),
                page_size,
                retry,
                still_held,
            )
            .await
            {
                Err(AccountError::Google(GoogleError::SyncTokenGone)) => {
                    log::info!(
                        "sync token of channel {} is gone; running a full sync",
                        channel.channel_id
                    );
                    (
                        list_all(&mut session, calendar, None, page_size, retry, still_held)
                            .await?,
                        true,
                    )
                }
                other => (other?, false),
            }
        }
        None => (
            list_all(&mut session, calendar, None, page_size, retry, still_held).await?,
            true,
        ),
    };
    let listed = Listed {
        listing,
        full,
        started_at,
    };
    commit(
        &ctx.db,
        &ctx.settings,
        channel.clone(),
        lease.owner(),
        listed,
    )
    .await
}

/// After a failed run: records conditions that need someone to act on the rows, so later
/// notifications stop at once (a revoked grant parks the user, a calendar that is gone stops
/// its channel). The caller releases the lease.
async fn record_failure(ctx: &SyncContext, channel: &CalendarChannel, error: &SyncError) {
    let (id, user_id) = (channel.channel_id.clone(), channel.user_id);
    let parked = match error.classify() {
        Failure::NeedsAction(why) => why,
        _ => return,
    };
    let result = ctx
        .db
        .run(move |conn| {
            match parked {
                Parked::CalendarGone => {
                    calendar_channel::set_status(conn, &id, ChannelStatus::Stopped)?;
                }
                why => reauth::park_user(conn, user_id, why)?,
            }
            Ok::<_, DbError>(())
        })
        .await;
    if let Err(e) = result {
        log::warn!(
            "could not record the failed sync of channel {}: {e}",
            channel.channel_id
        );
    }
}
