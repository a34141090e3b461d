//! What a connected user may do: pause and resume the sync, force a full resync, disconnect.

use chrono::Utc;
use diesel::Connection;
use secrecy::ExposeSecret;

use super::{ConnectError, ConnectService, calendar};
use crate::account::AccountError;
use crate::channels;
use crate::config::CalendarMode;
use crate::db::DbError;
use crate::db::models::calendar_channel::{self, CalendarChannel, ChannelStatus};
use crate::db::models::{calendar_connection, case_event_link, google_credential, outbox};
use crate::google::Calendar;
use crate::ids::UserId;
use crate::jobs::JobQueue;
use crate::jobs::process_calendar_changes::ProcessCalendarChanges;

async fn channels_of(
    svc: &ConnectService,
    user_id: UserId,
) -> Result<Vec<CalendarChannel>, ConnectError> {
    Ok(svc
        .sync
        .db
        .run(move |conn| Ok::<_, DbError>(calendar_channel::list_for_user(conn, user_id)?))
        .await?)
}

async fn require_connection(svc: &ConnectService, user_id: UserId) -> Result<(), ConnectError> {
    let found = svc
        .sync
        .db
        .run(move |conn| Ok::<_, DbError>(calendar_connection::find(conn, user_id)?))
        .await?;
    found.map(|_| ()).ok_or(ConnectError::NotConnected)
}

/// Stops the user's channels at Google and holds pushes: channel rows become `paused`, with
/// their sync tokens, so `resume` catches up incrementally.
pub async fn pause(svc: &ConnectService, user_id: UserId) -> Result<(), ConnectError> {
    require_connection(svc, user_id).await?;
    let mut session = svc.sync.google.session(user_id);
    for channel in channels_of(svc, user_id).await? {
        if channel.status != ChannelStatus::Active {
            continue;
        }
        // A channel left live would keep notifying a paused user: a failure to stop it is the
        // answer (503 or 409), and the pause can be asked again.
        channels::stop_or_gone(&mut session, &channel.channel_id, &channel.resource_id).await?;
        let id = channel.channel_id.clone();
        svc.sync
            .db
            .run(move |conn| {
                Ok::<_, DbError>(calendar_channel::set_status(
                    conn,
                    &id,
                    ChannelStatus::Paused,
                )?)
            })
            .await?;
    }
    svc.sync
        .db
        .run(move |conn| Ok::<_, DbError>(calendar_connection::set_paused(conn, user_id, true)?))
        .await?;
    Ok(())
}

/// Watches the calendar again (creating it again if the user deleted it), syncs and queues
/// every open case: whatever changed meanwhile on either side is caught up.
pub async fn resume(svc: &ConnectService, user_id: UserId) -> Result<String, ConnectError> {
    require_connection(svc, user_id).await?;
    calendar::set_up(svc, user_id).await
}

/// A full resync now: the watched calendar's sync token is forgotten and a sync is queued.
pub async fn resync(
    svc: &ConnectService,
    queue: &JobQueue,
    user_id: UserId,
) -> Result<(), ConnectError> {
    require_connection(svc, user_id).await?;
    let target = svc
        .sync
        .db
        .run(move |conn| Ok::<_, DbError>(calendar_channel::push_target(conn, user_id)?))
        .await?
        .filter(|c| c.status == ChannelStatus::Active)
        .ok_or(ConnectError::NotRunning)?;
    let row = target.id;
    svc.sync
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                calendar_channel::clear_sync_token(conn, row)?;
                let open = crate::db::models::case::open_case_ids(conn, user_id)?;
                outbox::enqueue_cases(conn, user_id, &open)
            })
            .map_err(DbError::from)
        })
        .await?;
    queue
        .enqueue_backstop(&ProcessCalendarChanges {
            channel_id: target.channel_id,
            resource_id: target.resource_id,
            message_number: 0,
            received_at: Utc::now(),
        })
        .await?;
    Ok(())
}

/// What to do with the dedicated calendar on disconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarOnDisconnect {
    Delete,
    /// Renamed "<name> (sync stopped)", events left as they are.
    Keep,
}

/// Disconnects: stops the channels (while the grant still works), deletes or renames the
/// dedicated calendar, revokes the grant at Google and deletes everything calsync kept for
/// the user's Google side. Every Google step is best effort (a dead grant cannot do them, and
/// the user must still be able to disconnect); the local rows always go. Idempotent.
pub async fn disconnect(
    svc: &ConnectService,
    user_id: UserId,
    what: CalendarOnDisconnect,
) -> Result<(), ConnectError> {
    let connection = svc
        .sync
        .db
        .run(move |conn| Ok::<_, DbError>(calendar_connection::find(conn, user_id)?))
        .await?;
    let mut session = svc.sync.google.session(user_id);
    for channel in channels_of(svc, user_id).await? {
        if channel.status == ChannelStatus::Active
            && let Err(e) =
                channels::stop_or_gone(&mut session, &channel.channel_id, &channel.resource_id)
                    .await
        {
            log::info!(
                "user {user_id}: channel {} not stopped at Google: {e}",
                channel.channel_id
            );
        }
    }
    let dedicated = connection
        .as_ref()
        .filter(|c| c.calendar_mode == "dedicated")
        .and_then(|c| c.calendar_id.clone());
    let existing = connection
        .as_ref()
        .filter(|c| c.calendar_mode == "existing")
        .and_then(|c| c.calendar_id.clone());
    if let (Some(calendar_id), CalendarOnDisconnect::Delete) = (existing, what) {
        // A calendar of the user's own stays; calsync's events come off it.
        let cal = calendar_id.clone();
        let links = svc
            .sync
            .db
            .run(move |conn| {
                Ok::<_, DbError>(case_event_link::live_on_calendar(conn, user_id, &cal)?)
            })
            .await?;
        for link in links {
            if let Err(e) = session
                .delete_event(&calendar_id, &link.google_event_id, None)
                .await
            {
                log::info!("user {user_id}: event not deleted at Google on disconnect: {e}");
                if matches!(
                    e,
                    AccountError::GrantRevoked | AccountError::NoCredentials(_)
                ) {
                    break;
                }
            }
        }
    }
    if let Some(calendar_id) = dedicated {
        let result = match what {
            CalendarOnDisconnect::Delete => session.delete_calendar(&calendar_id).await,
            CalendarOnDisconnect::Keep => {
                let name = match &svc.config.mode {
                    CalendarMode::Dedicated { name } => name.clone(),
                    CalendarMode::Existing { .. } => "PERM Deadlines".to_owned(),
                };
                let changes = Calendar {
                    summary: Some(format!("{name} (sync stopped)")),
                    ..Calendar::default()
                };
                session
                    .patch_calendar(&calendar_id, &changes)
                    .await
                    .map(|_| ())
            }
        };
        if let Err(e) = result {
            log::info!("user {user_id}: calendar not changed at Google on disconnect: {e}");
        }
    }
    revoke(svc, user_id).await;
    svc.sync
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                for channel in calendar_channel::list_for_user(conn, user_id)? {
                    calendar_channel::delete(conn, &channel.channel_id)?;
                    case_event_link::delete_on_calendar(conn, user_id, &channel.calendar_id)?;
                }
                if let Some(cal) = connection.as_ref().and_then(|c| c.calendar_id.as_deref()) {
                    case_event_link::delete_on_calendar(conn, user_id, cal)?;
                }
                outbox::delete_for_user(conn, user_id)?;
                google_credential::delete(conn, user_id)?;
                calendar_connection::delete(conn, user_id)?;
                Ok::<_, diesel::result::Error>(())
            })
            .map_err(DbError::from)
        })
        .await?;
    Ok(())
}

/// Revokes the user's stored grant at Google; best effort (a dead grant is already revoked).
pub async fn revoke(svc: &ConnectService, user_id: UserId) {
    let session = svc.sync.google.session(user_id);
    let token = match session.refresh_token().await {
        Ok(Some(t)) => t,
        Ok(None) => return,
        Err(AccountError::Crypto(e)) => {
            log::warn!("user {user_id}: the stored grant cannot be opened to revoke it: {e}");
            return;
        }
        Err(e) => {
            log::warn!("user {user_id}: reading the grant to revoke failed: {e}");
            return;
        }
    };
    if let Err(e) = svc
        .oauth
        .revoke(&svc.config.revoke_url, token.expose_secret())
        .await
    {
        log::warn!("user {user_id}: revoking the grant at Google failed: {e}");
    }
}
