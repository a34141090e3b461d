//! Channel renewal, once per fleet. Google's channels expire (7 days by default) and never
//! renew themselves. Each pass of every worker:
//!
//! 1. stops the strays whose time has come (`channel_strays`: channels possibly live at
//!    Google that no row names, left by a worker that died mid-renewal);
//! 2. claims the channels due for renewal (`FOR UPDATE SKIP LOCKED`, with an expiry: one
//!    worker each); a channel is due at its own point of the renewal window, so renewals
//!    spread out instead of all falling due at once;
//! 3. for each: records the new channel id as a stray *before* events.watch (a worker dying
//!    after the watch leaves that record), watches, then in one transaction puts the new
//!    channel on the row and records the old one as a stray; stops the old channel (the new
//!    one is live by then) and deletes its record; runs one incremental sync, for changes
//!    whose notifications named the channel the row did not hold at that moment.

use std::time::Duration;

use super::watch::WatchTarget;
use crate::account::{AccountError, UserSession, reauth};
use crate::db::DbError;
use crate::db::models::calendar_channel::{self, ChannelStatus, generate_channel_id};
use crate::db::models::channel_duty::{self, ClaimedChannel, Replacement, Swap};
use crate::db::models::channel_stray::{self, ChannelStray};
use crate::google::{GoogleError, WatchParams, WatchRequest};
use crate::inbound::{SyncContext, sync_channel};
use crate::quota::{self, Lane};
use crate::retry::{Classify, Decision, Failure, Parked, Work};

/// Channels one pass claims, and strays one pass stops, at most.
const PER_PASS: i64 = 500;

/// What one renewal pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RenewalReport {
    pub renewed: usize,
    pub failed: usize,
    /// Strays stopped at Google (or found already gone).
    pub strays_stopped: usize,
}

/// How renewals are timed.
#[derive(Debug, Clone, Copy)]
pub struct RenewalTiming {
    /// A channel is renewed at a point of this window before its expiry (drawn per row,
    /// between the window's start and three quarters into it).
    pub window: Duration,
    /// How long a worker's claim on a channel, and the grace of a stray record, last: longer
    /// than a watch plus the swap take.
    pub claim: Duration,
}

impl RenewalTiming {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            claim: Duration::from_secs(120),
        }
    }
}

/// Renews every active channel whose renewal point within `window` has come (tests and the
/// operator's command; the worker runs [`renew_due`]).
pub async fn renew_expiring(
    ctx: &SyncContext,
    window: Duration,
    target: &WatchTarget,
    token_for: &(dyn Fn(&str) -> String + Sync),
) -> Result<RenewalReport, DbError> {
    renew_due(ctx, RenewalTiming::new(window), target, token_for).await
}

/// One pass: stops due strays, then renews the channels this worker claims.
pub async fn renew_due(
    ctx: &SyncContext,
    timing: RenewalTiming,
    target: &WatchTarget,
    token_for: &(dyn Fn(&str) -> String + Sync),
) -> Result<RenewalReport, DbError> {
    quota::in_lane(Lane::Renewal, async {
        let mut report = RenewalReport {
            strays_stopped: stop_strays(ctx, timing.claim).await?,
            ..RenewalReport::default()
        };
        let claimed = ctx
            .db
            .run(move |conn| {
                Ok::<_, DbError>(channel_duty::claim_renewals(
                    conn,
                    timing.window,
                    timing.claim,
                    PER_PASS,
                )?)
            })
            .await?;
        for channel in claimed {
            if renew_one(ctx, &channel, timing, target, token_for).await? {
                report.renewed += 1;
            } else {
                report.failed += 1;
            }
        }
        Ok(report)
    })
    .await
}

/// Renews one claimed channel; returns whether the row now names a new channel.
async fn renew_one(
    ctx: &SyncContext,
    channel: &ClaimedChannel,
    timing: RenewalTiming,
    target: &WatchTarget,
    token_for: &(dyn Fn(&str) -> String + Sync),
) -> Result<bool, DbError> {
    let new_id = generate_channel_id();
    let (id, user, resource) = (new_id.clone(), channel.user(), channel.resource_id.clone());
    ctx.db
        .run(move |conn| {
            Ok::<_, DbError>(channel_stray::record(
                conn,
                &id,
                user,
                &resource,
                timing.claim,
            )?)
        })
        .await?;
    let request = WatchRequest {
        id: new_id.clone(),
        kind: "web_hook",
        address: target.address.clone(),
        token: token_for(&new_id),
        params: target.ttl.map(|ttl| WatchParams {
            ttl: ttl.as_secs().to_string(),
        }),
    };
    let mut session = ctx.google.session(channel.user());
    let created = match session.watch(&channel.calendar_id, &request).await {
        Ok(created) => created,
        Err(e) => {
            log::warn!("could not renew channel {}: {e}", channel.channel_id);
            watch_failed(ctx, channel, &new_id, &e).await?;
            return Ok(false);
        }
    };
    let (row, old_id, old_resource) = (
        channel.id,
        channel.channel_id.clone(),
        channel.resource_id.clone(),
    );
    let swap = {
        let created = created.clone();
        ctx.db
            .run(move |conn| {
                Ok::<_, DbError>(channel_duty::swap_renewed(
                    conn,
                    row,
                    &old_id,
                    &old_resource,
                    &Replacement {
                        channel_id: &created.id,
                        resource_id: &created.resource_id,
                        resource_uri: created.resource_uri.as_deref(),
                        expiration_ms: created.expiration,
                    },
                    timing.claim,
                )?)
            })
            .await?
    };
    match swap {
        Swap::Done => {}
        Swap::NewChannelStopped | Swap::RowChanged => {
            log::warn!(
                "renewal of channel {} abandoned ({swap:?}); the new channel {} is left to the stray pass",
                channel.channel_id,
                created.id
            );
            release_claim(ctx, channel).await?;
            return Ok(false);
        }
    }
    log::info!(
        "renewed channel {} of calendar {} as {} (expires {})",
        channel.channel_id,
        channel.calendar_id,
        created.id,
        created.expiration
    );
    let stray = ChannelStray {
        channel_id: channel.channel_id.clone(),
        user_id: channel.user(),
        resource_id: channel.resource_id.clone(),
        stop_after: chrono::Utc::now(),
        claimed_until: None,
        created_at: chrono::Utc::now(),
    };
    stop_stray(ctx, &mut session, &stray).await?;
    if let Err(e) = sync_channel(ctx, &created.id).await {
        log::warn!(
            "renewed channel {} but its first sync failed: {e}",
            created.id
        );
    }
    Ok(true)
}

async fn release_claim(ctx: &SyncContext, channel: &ClaimedChannel) -> Result<(), DbError> {
    let row = channel.id;
    ctx.db
        .run(move |conn| Ok::<_, DbError>(channel_duty::release_renewal(conn, row)?))
        .await
}

/// After a failed watch: a refusal created nothing, so the new channel's record goes; after
/// a transient failure the watch may have gone through, so the record stays for the stray
/// pass. A calendar that is gone stops its channel, a revoked grant parks the user;
/// anything else is left for the next pass.
async fn watch_failed(
    ctx: &SyncContext,
    channel: &ClaimedChannel,
    new_id: &str,
    error: &AccountError,
) -> Result<(), DbError> {
    let failure = match error {
        // A 404 on events.watch means the calendar it names is gone.
        AccountError::Google(GoogleError::NotFound) => Failure::NeedsAction(Parked::CalendarGone),
        e => e.classify(),
    };
    let created_nothing = !matches!(failure, Failure::Transient | Failure::RateLimited { .. });
    let decision = ctx.retry.decide(Work::Renewal, failure, 1);
    let (row, id, old, user_id) = (
        channel.id,
        new_id.to_owned(),
        channel.channel_id.clone(),
        channel.user(),
    );
    ctx.db
        .run(move |conn| {
            if created_nothing {
                channel_stray::delete(conn, &id)?;
            }
            channel_duty::release_renewal(conn, row)?;
            match decision {
                Decision::Park(Parked::CalendarGone) => {
                    calendar_channel::set_status(conn, &old, ChannelStatus::Stopped)?;
                }
                Decision::Park(other) => reauth::park_user(conn, user_id, other)?,
                _ => {}
            }
            Ok::<_, DbError>(())
        })
        .await
}

/// Stops the strays whose time has come and that this worker claims; returns how many were
/// stopped (or found gone). A stray some row names after all is only forgotten.
async fn stop_strays(ctx: &SyncContext, claim: Duration) -> Result<usize, DbError> {
    let strays = ctx
        .db
        .run(move |conn| Ok::<_, DbError>(channel_stray::claim_due(conn, PER_PASS, claim)?))
        .await?;
    let mut stopped = 0;
    for stray in strays {
        let id = stray.channel_id.clone();
        let named = ctx
            .db
            .run(move |conn| Ok::<_, DbError>(calendar_channel::find_by_channel_id(conn, &id)?))
            .await?
            .is_some();
        if named {
            let id = stray.channel_id.clone();
            ctx.db
                .run(move |conn| Ok::<_, DbError>(channel_stray::delete(conn, &id)?))
                .await?;
            continue;
        }
        let mut session = ctx.google.session(stray.user_id);
        if stop_stray(ctx, &mut session, &stray).await? {
            log::info!("stopped stray channel {}", stray.channel_id);
            stopped += 1;
        }
    }
    Ok(stopped)
}

/// Stops one stray at Google and deletes its record; a channel Google no longer knows, or
/// a user whose grant is gone, counts as stopped. Anything else keeps the record for a later
/// pass. Returns whether it is stopped.
async fn stop_stray(
    ctx: &SyncContext,
    session: &mut UserSession,
    stray: &ChannelStray,
) -> Result<bool, DbError> {
    if let Err(e) = super::stop::stop_or_gone(session, &stray.channel_id, &stray.resource_id).await
    {
        log::warn!(
            "could not stop channel {} at Google (a later pass retries): {e}",
            stray.channel_id
        );
        return Ok(false);
    }
    let id = stray.channel_id.clone();
    ctx.db
        .run(move |conn| Ok::<_, DbError>(channel_stray::delete(conn, &id)?))
        .await?;
    Ok(true)
}
