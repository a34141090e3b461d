//! Setting up a connected user's calendar: the dedicated "PERM Deadlines" calendar (created
//! once, kept across reconnects, created again when the user deleted it) or an existing one,
//! then a watch, the first sync and every open case queued for the push.

use crate::account::{AccountError, UserSession};
use crate::channels::watch_calendar;
use crate::config::CalendarMode;
use crate::db::DbError;
use crate::db::models::{
    calendar_channel, calendar_connection, case_event_link, google_credential,
};
use crate::google::{Calendar, GoogleError};
use crate::ids::UserId;

use super::{ConnectError, ConnectService};

/// Scopes that let calsync read the primary calendar's time zone.
const ZONE_SCOPES: [&str; 5] = [
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.calendarlist",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "https://www.googleapis.com/auth/calendar.calendars.readonly",
];

const DESCRIPTION: &str = "PERM case deadlines from the case tracker, kept in sync by calsync. \
Moving an event here moves the deadline in the tracker.";

/// Makes sure the user's calendar exists, watches it (first sync included) and queues their
/// open cases. Returns the calendar id.
pub async fn set_up(svc: &ConnectService, user_id: UserId) -> Result<String, ConnectError> {
    let calendar_id = prepare(svc, user_id).await?;
    watch(svc, user_id, &calendar_id).await?;
    Ok(calendar_id)
}

/// Watches the calendar (the first sync included) and queues the user's open cases.
pub async fn watch(
    svc: &ConnectService,
    user_id: UserId,
    calendar_id: &str,
) -> Result<(), ConnectError> {
    watch_calendar(&svc.sync, user_id, calendar_id, &svc.watch, |id| {
        svc.channel_token(id)
    })
    .await?;
    Ok(())
}

/// [`watch`] in the background (the connect callback does not keep the browser waiting for
/// the first sync; the status says `importing` meanwhile). A failure is recorded for the
/// status and the user can `resume`.
pub fn watch_in_background(svc: &ConnectService, user_id: UserId, calendar_id: String) {
    let svc = svc.clone();
    tokio::spawn(async move {
        if let Err(e) = watch(&svc, user_id, &calendar_id).await {
            log::warn!("user {user_id}: watching the new calendar failed: {e}");
            record_error(
                &svc,
                user_id,
                "The calendar could not be watched; resume to retry.",
            )
            .await;
            return;
        }
        // A disconnect that ran while this watch was on its way left its channel behind:
        // finish the disconnect (it is idempotent).
        let still = svc
            .sync
            .db
            .run(move |conn| Ok::<_, DbError>(calendar_connection::find(conn, user_id)?))
            .await;
        if matches!(still, Ok(None)) {
            let keep = super::manage::CalendarOnDisconnect::Keep;
            if let Err(e) = super::manage::disconnect(&svc, user_id, keep).await {
                log::warn!("user {user_id}: cleaning up after a disconnect failed: {e}");
            }
        }
    });
}

/// Makes sure the user's calendar exists and records it on the connection. Returns its id.
pub async fn prepare(svc: &ConnectService, user_id: UserId) -> Result<String, ConnectError> {
    let db = &svc.sync.db;
    let (connection, scopes) = db
        .run(move |conn| {
            Ok::<_, DbError>((
                calendar_connection::find(conn, user_id)?,
                google_credential::find(conn, user_id)?.map(|c| c.scopes),
            ))
        })
        .await?;
    let connection = connection.ok_or(ConnectError::NotConnected)?;
    let scopes = scopes.unwrap_or_default();
    let mut session = svc.sync.google.session(user_id);
    let (calendar_id, name) = match &svc.config.mode {
        CalendarMode::Dedicated { name } => {
            dedicated(
                svc,
                &mut session,
                connection.calendar_id.as_deref(),
                name,
                &scopes,
            )
            .await?
        }
        CalendarMode::Existing { calendar_id } => {
            let name = session
                .get_calendar_list_entry(calendar_id)
                .await
                .ok()
                .and_then(|c| c.summary);
            (calendar_id.clone(), name)
        }
    };
    let (cal, previous) = (calendar_id.clone(), connection.calendar_id.clone());
    db.run(move |conn| {
        // A calendar that was replaced (the user deleted it) takes its channel and links
        // along: the deadlines go onto the new one from scratch.
        if let Some(old) = previous.filter(|old| *old != cal) {
            for channel in calendar_channel::list_for_user(conn, user_id)? {
                if channel.calendar_id == old {
                    calendar_channel::delete(conn, &channel.channel_id)?;
                }
            }
            case_event_link::delete_on_calendar(conn, user_id, &old)?;
        }
        calendar_connection::set_calendar(conn, user_id, &cal, name.as_deref())?;
        calendar_connection::set_paused(conn, user_id, false)?;
        calendar_connection::set_error(conn, user_id, None)?;
        Ok::<_, DbError>(())
    })
    .await?;
    Ok(calendar_id)
}

/// The dedicated calendar: the one already made if Google still has it, else a new one in
/// the primary calendar's time zone (when the scopes allow reading it) or `DEFAULT_TIME_ZONE`.
async fn dedicated(
    svc: &ConnectService,
    session: &mut UserSession,
    existing: Option<&str>,
    name: &str,
    scopes: &str,
) -> Result<(String, Option<String>), ConnectError> {
    if let Some(id) = existing {
        match session.get_calendar(id).await {
            Ok(found) => return Ok((id.to_owned(), found.summary)),
            Err(AccountError::Google(GoogleError::NotFound)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let can_read_zone = scopes.split_whitespace().any(|s| ZONE_SCOPES.contains(&s));
    let mut zone = None;
    if can_read_zone {
        // calendars.get or, with only a calendar-list scope, calendarList.get.
        zone = match session.get_calendar("primary").await {
            Ok(c) => c.time_zone,
            Err(_) => session
                .get_calendar_list_entry("primary")
                .await
                .ok()
                .and_then(|c| c.time_zone),
        };
    }
    let created = session
        .insert_calendar(&Calendar {
            summary: Some(name.to_owned()),
            description: Some(DESCRIPTION.to_owned()),
            time_zone: Some(zone.unwrap_or_else(|| svc.config.default_time_zone.clone())),
            ..Calendar::default()
        })
        .await?;
    let id = created
        .id
        .ok_or_else(|| GoogleError::Decode("calendars.insert answered no id".into()))?;
    Ok((id, Some(name.to_owned())))
}

/// Records `message` as the user's last error (best effort).
pub async fn record_error(svc: &ConnectService, user_id: UserId, message: &'static str) {
    let result = svc
        .sync
        .db
        .run(move |conn| {
            Ok::<_, DbError>(calendar_connection::set_error(
                conn,
                user_id,
                Some(message),
            )?)
        })
        .await;
    if let Err(e) = result {
        log::warn!("user {user_id}: could not record the last error: {e}");
    }
}
