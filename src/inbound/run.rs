//! One sync run of one channel: lease, list, commit; and what a failed run records.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use uuid::Uuid;

use super::commit::{Listed, commit};
use super::lease::{self, Taken};
use super::list::list_all;
use super::{ApplyStats, SyncContext, SyncError};
use crate::account::{AccountError, reauth};
use crate::db::DbError;
use crate::db::models::calendar_channel::{self, CalendarChannel, ChannelStatus};
use crate::db::models::channel_lease;
use crate::google::GoogleError;
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
}

/// Brings the channel's calendar up to date.
pub async fn sync_channel(ctx: &SyncContext, channel_id: &str) -> Result<SyncOutcome, SyncError> {
    let owner = Uuid::new_v4();
    let channel = match lease::take(&ctx.db, channel_id, owner, ctx.settings.lease_ttl).await? {
        Taken::Lease(channel) => *channel,
        Taken::Busy => return Err(SyncError::Busy),
        Taken::Inactive(status) => return Ok(SyncOutcome::Inactive(status)),
        Taken::Unknown => return Ok(SyncOutcome::UnknownChannel),
    };
    let result = run_leased(ctx, &channel, owner).await;
    if let Err(e) = &result {
        record_failure(ctx, &channel, owner, e).await;
    }
    result.map(SyncOutcome::Synced)
}

async fn run_leased(
    ctx: &SyncContext,
    channel: &CalendarChannel,
    owner: Uuid,
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
    let extend = || lease::extend(&ctx.db, &channel.channel_id, owner, ctx.settings.lease_ttl);
    let calendar = channel.calendar_id.as_str();
    let page_size = ctx.settings.page_size;
    let retry = &ctx.retry;
    let (listing, full) = match channel.sync_token.as_deref() {
        Some(token) => match list_all(
            &mut session,
            calendar,
            Some(token),
            page_size,
            retry,
            extend,
        )
        .await
        {
            Err(AccountError::Google(GoogleError::SyncTokenGone)) => {
                log::info!(
                    "sync token of channel {} is gone; running a full sync",
                    channel.channel_id
                );
                (
                    list_all(&mut session, calendar, None, page_size, retry, extend).await?,
                    true,
                )
            }
            other => (other?, false),
        },
        None => (
            list_all(&mut session, calendar, None, page_size, retry, extend).await?,
            true,
        ),
    };
    let listed = Listed {
        listing,
        full,
        started_at,
    };
    commit(&ctx.db, channel.clone(), owner, listed).await
}

/// After a failed run: releases the lease, and records conditions that need someone to act
/// on the rows, so later notifications stop at once (a revoked grant parks the user, a
/// calendar that is gone stops its channel).
async fn record_failure(
    ctx: &SyncContext,
    channel: &CalendarChannel,
    owner: Uuid,
    error: &SyncError,
) {
    let (id, user_id) = (channel.channel_id.clone(), channel.user_id);
    let parked = match error.classify() {
        Failure::NeedsAction(why) => Some(why),
        _ => None,
    };
    let result = ctx
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                match parked {
                    Some(Parked::CalendarGone) => {
                        calendar_channel::set_status(conn, &id, ChannelStatus::Stopped)?;
                    }
                    Some(why) => reauth::park_user(conn, user_id, why)?,
                    None => {}
                }
                channel_lease::release(conn, &id, owner)
            })
            .map_err(DbError::from)
        })
        .await;
    if let Err(e) = result {
        log::warn!(
            "could not record the failed sync of channel {}: {e}",
            channel.channel_id
        );
    }
}
