//! Stopping a calendar's channel: at Google, then its row; the calendar's cases are queued
//! so the outbound push takes their events off it.

use diesel::Connection;

use super::watch::WatchError;
use crate::account::{AccountError, UserSession};
use crate::db::DbError;
use crate::db::models::{calendar_channel, case_event_link, outbox};
use crate::google::GoogleError;
use crate::inbound::SyncContext;

/// Stops a channel at Google, deletes its row and queues the calendar's cases, so the
/// outbound push takes their events off it (events nothing keeps in sync would show stale
/// deadlines). Returns false when no such channel.
///
/// A channel Google no longer knows (404), or a user whose grant is revoked, still has its
/// row deleted: notifications that Google might still send then name an unknown channel and
/// are dropped. Transient failures keep the row so the operator can try again.
pub async fn stop_channel(ctx: &SyncContext, channel_id: &str) -> Result<bool, WatchError> {
    let id = channel_id.to_owned();
    let Some(channel) = ctx
        .db
        .run(move |conn| Ok::<_, DbError>(calendar_channel::find_by_channel_id(conn, &id)?))
        .await?
    else {
        return Ok(false);
    };
    let mut session = ctx.google.session(channel.user_id);
    stop_or_gone(&mut session, &channel.channel_id, &channel.resource_id).await?;
    let (id, user_id, calendar) = (
        channel.channel_id.clone(),
        channel.user_id,
        channel.calendar_id.clone(),
    );
    // The calendar no longer gets the deadlines: the outbound push removes their events.
    ctx.db
        .run(move |conn| {
            conn.transaction(|conn| {
                calendar_channel::delete(conn, &id)?;
                let cases = case_event_link::cases_on_calendar(conn, user_id, &calendar)?;
                outbox::enqueue_cases(conn, user_id, &cases)
            })
            .map_err(DbError::from)
        })
        .await?;
    Ok(true)
}

/// Stops a channel at Google. A channel Google no longer knows (404), or a user whose grant
/// is gone (nothing can stop it, and Google stops notifying a revoked grant), counts as
/// stopped.
pub async fn stop_or_gone(
    session: &mut UserSession,
    channel_id: &str,
    resource_id: &str,
) -> Result<(), AccountError> {
    match session.stop_channel(channel_id, resource_id).await {
        Ok(())
        | Err(
            AccountError::Google(GoogleError::NotFound)
            | AccountError::GrantRevoked
            | AccountError::NoCredentials(_),
        ) => Ok(()),
        Err(e) => Err(e),
    }
}
