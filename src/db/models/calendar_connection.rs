//! A user's Google Calendar connection (`google_calendar_connections`): which Google account,
//! which calendar, whether paused, and the last error in words a user may see.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::google_calendar_connections::{self, dsl};
use crate::ids::UserId;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = google_calendar_connections, check_for_backend(diesel::pg::Pg))]
pub struct CalendarConnection {
    pub user_id: UserId,
    pub google_sub: String,
    pub google_email: String,
    pub calendar_mode: String,
    pub calendar_id: Option<String>,
    pub calendar_name: Option<String>,
    pub paused_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub connected_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn find(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Option<CalendarConnection>> {
    dsl::google_calendar_connections
        .find(user_id)
        .select(CalendarConnection::as_select())
        .first(conn)
        .optional()
}

/// The tracker user a Google account is linked to, if any.
pub fn user_for_sub(conn: &mut PgConnection, google_sub: &str) -> QueryResult<Option<UserId>> {
    dsl::google_calendar_connections
        .filter(dsl::google_sub.eq(google_sub))
        .select(dsl::user_id)
        .first(conn)
        .optional()
}

/// Records the Google account of a (re)connected user; the calendar is kept on a reconnect.
pub fn upsert_account(
    conn: &mut PgConnection,
    user_id: UserId,
    google_sub: &str,
    google_email: &str,
    mode: &str,
) -> QueryResult<CalendarConnection> {
    diesel::insert_into(dsl::google_calendar_connections)
        .values((
            dsl::user_id.eq(user_id),
            dsl::google_sub.eq(google_sub),
            dsl::google_email.eq(google_email),
            dsl::calendar_mode.eq(mode),
        ))
        .on_conflict(dsl::user_id)
        .do_update()
        .set((
            dsl::google_sub.eq(google_sub),
            dsl::google_email.eq(google_email),
            dsl::calendar_mode.eq(mode),
            dsl::last_error.eq(None::<String>),
            dsl::last_error_at.eq(None::<DateTime<Utc>>),
            dsl::connected_at.eq(diesel::dsl::now),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .returning(CalendarConnection::as_returning())
        .get_result(conn)
}

pub fn set_calendar(
    conn: &mut PgConnection,
    user_id: UserId,
    calendar_id: &str,
    calendar_name: Option<&str>,
) -> QueryResult<bool> {
    diesel::update(dsl::google_calendar_connections.find(user_id))
        .set((
            dsl::calendar_id.eq(calendar_id),
            dsl::calendar_name.eq(calendar_name),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn set_paused(conn: &mut PgConnection, user_id: UserId, paused: bool) -> QueryResult<bool> {
    let at = paused.then(Utc::now);
    diesel::update(dsl::google_calendar_connections.find(user_id))
        .set((dsl::paused_at.eq(at), dsl::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Records what went wrong, in words safe to show the user (`None` clears it).
pub fn set_error(
    conn: &mut PgConnection,
    user_id: UserId,
    error: Option<&str>,
) -> QueryResult<bool> {
    let at = error.map(|_| Utc::now());
    diesel::update(dsl::google_calendar_connections.find(user_id))
        .set((
            dsl::last_error.eq(error),
            dsl::last_error_at.eq(at),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn delete(conn: &mut PgConnection, user_id: UserId) -> QueryResult<bool> {
    diesel::delete(dsl::google_calendar_connections.find(user_id))
        .execute(conn)
        .map(|n| n == 1)
}
