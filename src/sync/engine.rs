//! One sync run of one channel: lease, list, commit.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use uuid::Uuid;

use super::SyncSettings;
use super::apply::{ApplyStats, apply_events};
use super::fetch::{Listing, list_all};
use crate::crypto::CryptoError;
use crate::db::models::calendar_channel::{self, CalendarChannel, ChannelStatus};
use crate::db::models::case_deadline;
use crate::db::models::case_event_link as links;
use crate::db::models::channel_lease::{self, LeaseOutcome};
use crate::db::models::google_credential;
use crate::db::{Db, DbError};
use crate::google::session::SessionError;
use crate::google::{GoogleAccounts, GoogleError};
use crate::ids::CaseId;

/// What a sync run needs.
#[derive(Clone)]
pub struct SyncContext {
    pub db: Db,
    pub google: GoogleAccounts,
    pub settings: SyncSettings,
}

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

/// Why a run failed. `is_retryable` tells the job queue what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error("another worker is syncing this channel")]
    Busy,
    #[error("the sync lease ran out before the commit; nothing was written")]
    LeaseLost,
    #[error("the user's Google grant is revoked; their channels need re-authorisation")]
    GrantRevoked,
    #[error("the user has no Google credentials; their channels need re-authorisation")]
    NoCredentials,
    #[error("the calendar no longer exists at Google; the channel is stopped")]
    CalendarGone,
    #[error(transparent)]
    Google(GoogleError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl From<diesel::result::Error> for SyncError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

impl From<SessionError> for SyncError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Google(GoogleError::GrantRevoked) => Self::GrantRevoked,
            SessionError::Google(GoogleError::NotFound) => Self::CalendarGone,
            SessionError::Google(g) => Self::Google(g),
            SessionError::NoCredentials(_) => Self::NoCredentials,
            SessionError::Db(d) => Self::Db(d),
            SessionError::Crypto(c) => Self::Crypto(c),
        }
    }
}

impl SyncError {
    /// Whether running the job again later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Busy | Self::LeaseLost | Self::Db(_) => true,
            Self::Google(g) => g.is_retryable(),
            Self::GrantRevoked | Self::NoCredentials | Self::CalendarGone | Self::Crypto(_) => {
                false
            }
        }
    }
}

/// Brings the channel's calendar up to date.
pub async fn sync_channel(ctx: &SyncContext, channel_id: &str) -> Result<SyncOutcome, SyncError> {
    let owner = Uuid::new_v4();
    let (id, ttl) = (channel_id.to_owned(), ctx.settings.lease_ttl);
    let channel = match ctx
        .db
        .run(move |conn| Ok::<_, DbError>(channel_lease::acquire(conn, &id, owner, ttl)?))
        .await?
    {
        LeaseOutcome::Acquired(channel) => *channel,
        LeaseOutcome::Busy => return Err(SyncError::Busy),
        LeaseOutcome::Inactive(status) => return Ok(SyncOutcome::Inactive(status)),
        LeaseOutcome::Unknown => return Ok(SyncOutcome::UnknownChannel),
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
    let listing_started_at = ctx
        .db
        .run(|conn| {
            Ok::<_, DbError>(
                diesel::select(diesel::dsl::sql::<Timestamptz>("now()"))
                    .get_result::<DateTime<Utc>>(conn)?,
            )
        })
        .await?;
    let mut session = ctx.google.session(channel.user_id);
    let extend_lease = || {
        let (db, id, ttl) = (
            ctx.db.clone(),
            channel.channel_id.clone(),
            ctx.settings.lease_ttl,
        );
        async move {
            let held = db
                .run(move |conn| Ok::<_, DbError>(channel_lease::extend(conn, &id, owner, ttl)?))
                .await?;
            if held {
                Ok(())
            } else {
                // Surfaces as a retryable failure; nothing has been written.
                Err(SessionError::Google(GoogleError::Transient(
                    "sync lease lost".into(),
                )))
            }
        }
    };
    let calendar = channel.calendar_id.as_str();
    let (listing, full) = match channel.sync_token.as_deref() {
        Some(token) => match list_all(
            &mut session,
            calendar,
            Some(token),
            &ctx.settings,
            extend_lease,
        )
        .await
        {
            Err(SessionError::Google(GoogleError::SyncTokenGone)) => {
                log::info!(
                    "sync token of channel {} is gone; running a full sync",
                    channel.channel_id
                );
                (
                    list_all(&mut session, calendar, None, &ctx.settings, extend_lease).await?,
                    true,
                )
            }
            other => (other?, false),
        },
        None => (
            list_all(&mut session, calendar, None, &ctx.settings, extend_lease).await?,
            true,
        ),
    };
    commit(
        ctx,
        channel.clone(),
        owner,
        listing,
        full,
        listing_started_at,
    )
    .await
}

async fn commit(
    ctx: &SyncContext,
    channel: CalendarChannel,
    owner: Uuid,
    listing: Listing,
    full: bool,
    listing_started_at: DateTime<Utc>,
) -> Result<SyncReport, SyncError> {
    ctx.db
        .run(move |conn| {
            conn.transaction(|conn| {
                if channel_lease::fence(conn, &channel.channel_id, owner)?.is_none() {
                    return Err(SyncError::LeaseLost);
                }
                let stats =
                    apply_events(conn, channel.user_id, &channel.calendar_id, &listing.events)?;
                let links_marked_missing = if full {
                    let seen: Vec<String> = listing
                        .events
                        .iter()
                        .filter(|e| !e.is_cancelled())
                        .filter_map(|e| e.id.clone())
                        .collect();
                    links::dismiss_missing(
                        conn,
                        channel.user_id,
                        &channel.calendar_id,
                        &seen,
                        listing_started_at,
                    )?
                } else {
                    0
                };
                let moved = calendar_channel::advance_sync_token(
                    conn,
                    &channel.channel_id,
                    channel.sync_token.as_deref(),
                    &listing.next_sync_token,
                )?;
                if !moved {
                    return Err(SyncError::LeaseLost);
                }
                let touched: Vec<CaseId> = stats.touched_cases.iter().copied().collect();
                case_deadline::touch_synced(conn, &touched)?;
                channel_lease::release(conn, &channel.channel_id, owner)?;
                Ok(SyncReport {
                    full,
                    pages: listing.pages,
                    events: listing.events.len(),
                    stats,
                    links_marked_missing,
                })
            })
        })
        .await
}

/// After a failed run: releases the lease, and records permanent conditions on the rows so
/// later notifications stop at once (a revoked grant, a calendar that is gone).
async fn record_failure(
    ctx: &SyncContext,
    channel: &CalendarChannel,
    owner: Uuid,
    error: &SyncError,
) {
    let (id, user_id) = (channel.channel_id.clone(), channel.user_id);
    let revoked = matches!(error, SyncError::GrantRevoked);
    let reauth = revoked || matches!(error, SyncError::NoCredentials);
    let gone = matches!(error, SyncError::CalendarGone);
    let result = ctx
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                if revoked {
                    google_credential::mark_revoked(conn, user_id)?;
                }
                if reauth {
                    calendar_channel::mark_user_needs_reauth(conn, user_id)?;
                }
                if gone {
                    calendar_channel::set_status(conn, &id, ChannelStatus::Stopped)?;
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
