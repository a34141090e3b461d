//! Channel renewal: Google's channels expire (7 days by default) and never renew
//! themselves. A channel close to expiry is replaced by a new watch of the same calendar,
//! which keeps the sync token (the first run is incremental) and stops the old channel.

use std::time::Duration;

use chrono::Utc;

use super::watch::{WatchError, WatchTarget, watch_calendar};
use crate::account::{AccountError, reauth};
use crate::db::DbError;
use crate::db::models::calendar_channel::{self, ChannelStatus};
use crate::google::GoogleError;
use crate::inbound::SyncContext;
use crate::retry::{Classify, Decision, Failure, Parked, Work};

/// What one renewal pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RenewalReport {
    pub renewed: usize,
    pub failed: usize,
}

/// Renews every active channel expiring within `window`.
pub async fn renew_expiring(
    ctx: &SyncContext,
    window: Duration,
    target: &WatchTarget,
    token_for: &(dyn Fn(&str) -> String + Sync),
) -> Result<RenewalReport, DbError> {
    let cutoff_ms =
        Utc::now().timestamp_millis() + i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let expiring = ctx
        .db
        .run(move |conn| Ok::<_, DbError>(calendar_channel::list_expiring_before(conn, cutoff_ms)?))
        .await?;
    let mut report = RenewalReport::default();
    for channel in expiring {
        match watch_calendar(
            ctx,
            channel.user_id,
            &channel.calendar_id,
            target,
            token_for,
        )
        .await
        {
            Ok((renewed, _)) => {
                log::info!(
                    "renewed channel {} of calendar {} as {} (expires {})",
                    channel.channel_id,
                    channel.calendar_id,
                    renewed.channel_id,
                    renewed.expiration_timestamp
                );
                report.renewed += 1;
            }
            // The new channel exists; only its first sync failed (it will run on the next
            // notification).
            Err(WatchError::FirstSync(e)) => {
                log::warn!(
                    "renewed channel {} but its first sync failed: {e}",
                    channel.channel_id
                );
                report.renewed += 1;
            }
            Err(e) => {
                log::warn!("could not renew channel {}: {e}", channel.channel_id);
                record_permanent_failure(ctx, &channel, &e).await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Asks the retry policy: a calendar that is gone stops its channel, a revoked grant parks
/// the user; anything else is left for the next pass.
async fn record_permanent_failure(
    ctx: &SyncContext,
    channel: &calendar_channel::CalendarChannel,
    error: &WatchError,
) -> Result<(), DbError> {
    let failure = match error {
        // A 404 on events.watch means the calendar it names is gone.
        WatchError::Google(AccountError::Google(GoogleError::NotFound)) => {
            Failure::NeedsAction(Parked::CalendarGone)
        }
        WatchError::Google(e) => e.classify(),
        WatchError::Db(e) => e.classify(),
        WatchError::FirstSync(e) => e.classify(),
    };
    let Decision::Park(why) = ctx.retry.decide(Work::Renewal, failure, 1) else {
        return Ok(());
    };
    let (id, user_id) = (channel.channel_id.clone(), channel.user_id);
    ctx.db
        .run(move |conn| {
            match why {
                Parked::CalendarGone => {
                    calendar_channel::set_status(conn, &id, ChannelStatus::Stopped)?;
                }
                other => reauth::park_user(conn, user_id, other)?,
            }
            Ok::<_, DbError>(())
        })
        .await
}
