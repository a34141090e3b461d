//! The channel store: one row per watched calendar (`calendar_sync_channels`).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use uuid::Uuid;

use super::text_enum::text_enum_sql;
use crate::db::schema::calendar_sync_channels::{self, dsl};
use crate::ids::UserId;

/// Whether calsync acts on a channel's notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum ChannelStatus {
    /// Notifications are synced.
    Active,
    /// The user's Google grant was revoked; nothing syncs until they reconnect.
    NeedsReauth,
    /// The calendar is gone or the channel was stopped; kept for the record.
    Stopped,
    /// A sync would have dismissed most of the calendar's deadlines at once (`hold_reason`):
    /// nothing syncs or pushes until an operator or the user confirms or re-pushes.
    Held,
    /// The user paused the sync: the channel is stopped at Google, the row (and its sync
    /// token) kept; nothing syncs or pushes until they resume.
    Paused,
}

impl ChannelStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::NeedsReauth => "needs_reauth",
            Self::Stopped => "stopped",
            Self::Held => "held",
            Self::Paused => "paused",
        }
    }
}

impl FromStr for ChannelStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "active" => Ok(Self::Active),
            "needs_reauth" => Ok(Self::NeedsReauth),
            "stopped" => Ok(Self::Stopped),
            "held" => Ok(Self::Held),
            "paused" => Ok(Self::Paused),
            _ => Err(()),
        }
    }
}

text_enum_sql!(ChannelStatus);

/// A channel row as read.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = calendar_sync_channels, check_for_backend(diesel::pg::Pg))]
pub struct CalendarChannel {
    pub id: Uuid,
    pub user_id: UserId,
    pub calendar_id: String,
    pub channel_id: String,
    pub resource_id: String,
    pub resource_uri: Option<String>,
    pub sync_token: Option<String>,
    /// Epoch milliseconds, as Google returns it.
    pub expiration_timestamp: i64,
    pub status: ChannelStatus,
    pub last_message_number: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_notification_at: Option<DateTime<Utc>>,
}

/// A channel to create, or to put in place of the user's existing channel on that calendar.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = calendar_sync_channels)]
pub struct NewCalendarChannel<'a> {
    pub user_id: UserId,
    pub calendar_id: &'a str,
    pub channel_id: &'a str,
    pub resource_id: &'a str,
    pub resource_uri: Option<&'a str>,
    /// `None` keeps the token of a channel being replaced (a renewal watches the same
    /// calendar, so its sync position carries over).
    pub sync_token: Option<&'a str>,
    pub expiration_timestamp: i64,
}

/// A fresh channel id: a UUID (36 characters, within Google's 64 and its alphabet).
pub fn generate_channel_id() -> String {
    Uuid::new_v4().to_string()
}

/// The channel row `row_id`.
pub fn find(conn: &mut PgConnection, row_id: Uuid) -> QueryResult<Option<CalendarChannel>> {
    dsl::calendar_sync_channels
        .find(row_id)
        .select(CalendarChannel::as_select())
        .first(conn)
        .optional()
}

/// The channel Google knows by `channel_id`.
pub fn find_by_channel_id(
    conn: &mut PgConnection,
    channel_id: &str,
) -> QueryResult<Option<CalendarChannel>> {
    dsl::calendar_sync_channels
        .filter(dsl::channel_id.eq(channel_id))
        .select(CalendarChannel::as_select())
        .first(conn)
        .optional()
}

/// The channel of `user_id` on `calendar_id`.
pub fn find_for_calendar(
    conn: &mut PgConnection,
    user_id: UserId,
    calendar_id: &str,
) -> QueryResult<Option<CalendarChannel>> {
    dsl::calendar_sync_channels
        .filter(dsl::user_id.eq(user_id))
        .filter(dsl::calendar_id.eq(calendar_id))
        .select(CalendarChannel::as_select())
        .first(conn)
        .optional()
}

/// Creates the channel, or replaces the user's channel on that calendar: the new channel id,
/// resource and expiry take over, the status returns to active, and message numbering starts
/// again. The sync token is replaced only when one is given.
pub fn upsert(
    conn: &mut PgConnection,
    new: &NewCalendarChannel<'_>,
) -> QueryResult<CalendarChannel> {
    diesel::insert_into(dsl::calendar_sync_channels)
        .values(new)
        .on_conflict((dsl::user_id, dsl::calendar_id))
        .do_update()
        .set((
            dsl::channel_id.eq(excluded(dsl::channel_id)),
            dsl::resource_id.eq(excluded(dsl::resource_id)),
            dsl::resource_uri.eq(excluded(dsl::resource_uri)),
            dsl::sync_token.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Text>,
            >(
                "coalesce(excluded.sync_token, calendar_sync_channels.sync_token)",
            )),
            dsl::expiration_timestamp.eq(excluded(dsl::expiration_timestamp)),
            dsl::status.eq(ChannelStatus::Active),
            dsl::last_message_number.eq(None::<i64>),
            dsl::created_at.eq(diesel::dsl::now),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .returning(CalendarChannel::as_returning())
        .get_result(conn)
}

/// Stores a new sync token and stamps `last_notification_at`. Returns whether the channel
/// exists.
pub fn update_sync_token(
    conn: &mut PgConnection,
    channel_id: &str,
    sync_token: &str,
) -> QueryResult<bool> {
    diesel::update(dsl::calendar_sync_channels.filter(dsl::channel_id.eq(channel_id)))
        .set((
            dsl::sync_token.eq(sync_token),
            dsl::last_notification_at.eq(diesel::dsl::now),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Moves the sync token of the channel row `row_id` from `expected` to `new` only if it is
/// still `expected`; a sync that lost a race (another run already advanced the token) gets
/// `false` and must not commit.
pub fn advance_sync_token(
    conn: &mut PgConnection,
    row_id: Uuid,
    expected: Option<&str>,
    new: &str,
) -> QueryResult<bool> {
    diesel::update(
        dsl::calendar_sync_channels
            .find(row_id)
            .filter(dsl::sync_token.is_not_distinct_from(expected)),
    )
    .set((
        dsl::sync_token.eq(new),
        dsl::last_notification_at.eq(diesel::dsl::now),
        dsl::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records that a notification arrived: stamps `last_notification_at` and keeps the highest
/// message number seen. Returns whether the channel exists.
pub fn record_notification(
    conn: &mut PgConnection,
    channel_id: &str,
    message_number: i64,
    received_at: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(dsl::calendar_sync_channels.filter(dsl::channel_id.eq(channel_id)))
        .set((
            dsl::last_notification_at.eq(received_at),
            dsl::last_message_number.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
            >(
                "greatest(calendar_sync_channels.last_message_number, "
            )
            .bind::<diesel::sql_types::BigInt, _>(message_number)
            .sql(")")),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Sets the status of one channel. Returns whether it exists.
pub fn set_status(
    conn: &mut PgConnection,
    channel_id: &str,
    status: ChannelStatus,
) -> QueryResult<bool> {
    diesel::update(dsl::calendar_sync_channels.filter(dsl::channel_id.eq(channel_id)))
        .set((dsl::status.eq(status), dsl::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Marks every active channel of a user `needs_reauth` (their Google grant was revoked).
/// Returns how many changed.
pub fn mark_user_needs_reauth(conn: &mut PgConnection, user_id: UserId) -> QueryResult<usize> {
    diesel::update(
        dsl::calendar_sync_channels
            .filter(dsl::user_id.eq(user_id))
            .filter(dsl::status.eq(ChannelStatus::Active)),
    )
    .set((
        dsl::status.eq(ChannelStatus::NeedsReauth),
        dsl::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
}

/// Deletes the channel. Returns whether it existed.
pub fn delete(conn: &mut PgConnection, channel_id: &str) -> QueryResult<bool> {
    diesel::delete(dsl::calendar_sync_channels.filter(dsl::channel_id.eq(channel_id)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Active channels whose expiration is at or before `now + days` (already expired ones
/// included: they need a new watch just as much), soonest first.
pub fn list_expiring_within(
    conn: &mut PgConnection,
    days: u32,
    now: DateTime<Utc>,
) -> QueryResult<Vec<CalendarChannel>> {
    list_expiring_before(conn, now.timestamp_millis() + i64::from(days) * 86_400_000)
}

/// Active channels whose expiration (epoch milliseconds) is at or before `cutoff_ms`,
/// soonest first.
pub fn list_expiring_before(
    conn: &mut PgConnection,
    cutoff_ms: i64,
) -> QueryResult<Vec<CalendarChannel>> {
    dsl::calendar_sync_channels
        .filter(dsl::status.eq(ChannelStatus::Active))
        .filter(dsl::expiration_timestamp.le(cutoff_ms))
        .order(dsl::expiration_timestamp.asc())
        .select(CalendarChannel::as_select())
        .load(conn)
}

/// A user's channels with the given status.
pub fn list_for_user_with_status(
    conn: &mut PgConnection,
    user_id: UserId,
    status: ChannelStatus,
) -> QueryResult<Vec<CalendarChannel>> {
    dsl::calendar_sync_channels
        .filter(dsl::user_id.eq(user_id))
        .filter(dsl::status.eq(status))
        .order(dsl::calendar_id.asc())
        .select(CalendarChannel::as_select())
        .load(conn)
}

/// Every active channel (the backstop syncs each of them).
pub fn list_active(conn: &mut PgConnection) -> QueryResult<Vec<CalendarChannel>> {
    dsl::calendar_sync_channels
        .filter(dsl::status.eq(ChannelStatus::Active))
        .select(CalendarChannel::as_select())
        .load(conn)
}

/// The channel whose calendar receives a user's deadlines: an active one before others,
/// `primary` before other calendars, then the oldest.
pub fn push_target(
    conn: &mut PgConnection,
    user_id: UserId,
) -> QueryResult<Option<CalendarChannel>> {
    dsl::calendar_sync_channels
        .filter(dsl::user_id.eq(user_id))
        .order((
            dsl::status.eq(ChannelStatus::Active).desc(),
            dsl::calendar_id.eq("primary").desc(),
            dsl::created_at.asc(),
        ))
        .select(CalendarChannel::as_select())
        .first(conn)
        .optional()
}

/// Every channel, by user and calendar (for `calsync channels list`).
pub fn list_all(conn: &mut PgConnection) -> QueryResult<Vec<CalendarChannel>> {
    dsl::calendar_sync_channels
        .order((dsl::user_id.asc(), dsl::calendar_id.asc()))
        .select(CalendarChannel::as_select())
        .load(conn)
}

/// Holds the channel row `row_id` (see `ChannelStatus::Held`), saying why.
pub fn hold(conn: &mut PgConnection, row_id: Uuid, reason: &str) -> QueryResult<bool> {
    diesel::update(dsl::calendar_sync_channels.find(row_id))
        .set((
            dsl::status.eq(ChannelStatus::Held),
            dsl::hold_reason.eq(reason),
            dsl::held_at.eq(diesel::dsl::now),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Ends a hold: the channel is active again and its next sync is a full one; with
/// `confirm_dismissal`, that sync may dismiss as many deadlines as it finds gone.
pub fn release_hold(
    conn: &mut PgConnection,
    row_id: Uuid,
    confirm_dismissal: bool,
) -> QueryResult<bool> {
    diesel::update(
        dsl::calendar_sync_channels
            .find(row_id)
            .filter(dsl::status.eq(ChannelStatus::Held)),
    )
    .set((
        dsl::status.eq(ChannelStatus::Active),
        dsl::hold_reason.eq(None::<String>),
        dsl::held_at.eq(None::<DateTime<Utc>>),
        dsl::sync_token.eq(None::<String>),
        dsl::mass_dismissal_confirmed.eq(confirm_dismissal),
        dsl::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Whether the next sync of the row may dismiss many deadlines at once; the sync that does
/// clears it (`consume_dismissal_confirmation`).
pub fn dismissal_confirmed(conn: &mut PgConnection, row_id: Uuid) -> QueryResult<bool> {
    dsl::calendar_sync_channels
        .find(row_id)
        .select(dsl::mass_dismissal_confirmed)
        .first(conn)
}

pub fn consume_dismissal_confirmation(conn: &mut PgConnection, row_id: Uuid) -> QueryResult<()> {
    diesel::update(dsl::calendar_sync_channels.find(row_id))
        .set(dsl::mass_dismissal_confirmed.eq(false))
        .execute(conn)
        .map(|_| ())
}

/// How many channels are held (a metric).
pub fn count_held(conn: &mut PgConnection) -> QueryResult<i64> {
    dsl::calendar_sync_channels
        .filter(dsl::status.eq(ChannelStatus::Held))
        .count()
        .get_result(conn)
}

/// Every channel of a user, oldest first.
pub fn list_for_user(
    conn: &mut PgConnection,
    user_id: UserId,
) -> QueryResult<Vec<CalendarChannel>> {
    dsl::calendar_sync_channels
        .filter(dsl::user_id.eq(user_id))
        .order(dsl::created_at.asc())
        .select(CalendarChannel::as_select())
        .load(conn)
}

/// Forgets the channel's sync token: its next run is a full listing (a resync).
pub fn clear_sync_token(conn: &mut PgConnection, row_id: Uuid) -> QueryResult<bool> {
    diesel::update(dsl::calendar_sync_channels.find(row_id))
        .set((
            dsl::sync_token.eq(None::<String>),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// The hold reason of a held channel.
pub fn hold_reason(conn: &mut PgConnection, row_id: Uuid) -> QueryResult<Option<String>> {
    dsl::calendar_sync_channels
        .find(row_id)
        .select(dsl::hold_reason)
        .first(conn)
}
