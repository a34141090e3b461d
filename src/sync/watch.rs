//! Starting and stopping a calendar's push channel.
//!
//! Watching goes: events.watch with a new channel id, then the channel row, then a sync run.
//! Watching before syncing is what keeps every change: changes before the sync run's listing
//! are in it, and changes after the watch produce notifications (Google's guide allows this
//! order as long as a sync follows the watch). A re-watch of a calendar keeps its sync token,
//! so the run is incremental; the replaced channel is stopped at Google.

use std::time::Duration;

use diesel::Connection;

use super::{SyncContext, SyncError, SyncOutcome, sync_channel};
use crate::db::DbError;
use crate::db::models::calendar_channel::{
    self, CalendarChannel, NewCalendarChannel, generate_channel_id,
};
use crate::db::models::{case, case_event_link, outbox};
use crate::google::session::SessionError;
use crate::google::{GoogleError, WatchParams, WatchRequest};
use crate::ids::UserId;

/// Where notifications go and how long to ask Google to keep the channel.
#[derive(Debug, Clone)]
pub struct WatchTarget {
    /// The full notification address, e.g. `https://calsync.example.com/api/webhooks/google-calendar`.
    pub address: String,
    /// Requested lifetime; Google may shorten it (the returned expiration is what is stored).
    pub ttl: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    #[error("Google refused or failed the request: {0}")]
    Google(#[from] SessionError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the channel was created but its first sync failed: {0}")]
    FirstSync(#[from] SyncError),
}

/// Watches `calendar_id` of `user_id`, runs the first sync and queues the user's open cases
/// for the outbound push. `token_for` gives the channel
/// token Google will echo in every notification for a channel id.
pub async fn watch_calendar(
    ctx: &SyncContext,
    user_id: UserId,
    calendar_id: &str,
    target: &WatchTarget,
    token_for: impl Fn(&str) -> String,
) -> Result<(CalendarChannel, SyncOutcome), WatchError> {
    let cal = calendar_id.to_owned();
    let previous = ctx
        .db
        .run(move |conn| {
            Ok::<_, DbError>(calendar_channel::find_for_calendar(conn, user_id, &cal)?)
        })
        .await?;
    let channel_id = generate_channel_id();
    let request = WatchRequest {
        id: channel_id.clone(),
        kind: "web_hook",
        address: target.address.clone(),
        token: token_for(&channel_id),
        params: target.ttl.map(|ttl| WatchParams {
            ttl: ttl.as_secs().to_string(),
        }),
    };
    let mut session = ctx.google.session(user_id);
    let created = session.watch(calendar_id, &request).await?;
    let cal = calendar_id.to_owned();
    let channel = ctx
        .db
        .run(move |conn| {
            Ok::<_, DbError>(calendar_channel::upsert(
                conn,
                &NewCalendarChannel {
                    user_id,
                    calendar_id: &cal,
                    channel_id: &created.id,
                    resource_id: &created.resource_id,
                    resource_uri: created.resource_uri.as_deref(),
                    sync_token: None,
                    expiration_timestamp: created.expiration,
                },
            )?)
        })
        .await?;
    if let Some(old) = previous.filter(|old| old.channel_id != channel.channel_id) {
        stop_at_google(&mut session, &old.channel_id, &old.resource_id).await;
    }
    let outcome = sync_channel(ctx, &channel.channel_id).await?;
    // The calendar gets every deadline of the user's open cases: their outbox rows were
    // dropped while no calendar was watched. Queued after the first sync, so the push sees
    // the links that sync reconciled; the outbox sweep picks them up.
    ctx.db
        .run(move |conn| {
            let open = case::open_case_ids(conn, user_id)?;
            Ok::<_, DbError>(outbox::enqueue_cases(conn, user_id, &open)?)
        })
        .await?;
    Ok((channel, outcome))
}

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
    match session
        .stop_channel(&channel.channel_id, &channel.resource_id)
        .await
    {
        Ok(()) | Err(SessionError::Google(GoogleError::NotFound | GoogleError::GrantRevoked)) => {}
        Err(SessionError::NoCredentials(_)) => {}
        Err(e) => return Err(e.into()),
    }
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

/// Best effort: a replaced channel dies at its expiration anyway, and its notifications name
/// a channel calsync no longer has.
async fn stop_at_google(
    session: &mut crate::google::UserSession,
    channel_id: &str,
    resource_id: &str,
) {
    if let Err(e) = session.stop_channel(channel_id, resource_id).await {
        log::warn!("could not stop replaced channel {channel_id} at Google: {e}");
    }
}
