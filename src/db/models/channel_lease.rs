//! The fenced lease on a channel row: at most one worker writes a calendar at a time (its
//! inbound sync, or its outbound push), and a worker whose lease ran out (it stalled, or was
//! killed and came back) cannot commit, because committing first re-checks the lease under
//! a row lock. The lease is keyed by the row's id, which survives a renewal or re-watch
//! swapping the channel id under a running sync. `crate::lease` keeps it alive with a
//! heartbeat.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};
use uuid::Uuid;

use super::calendar_channel::{CalendarChannel, ChannelStatus, find_by_channel_id};
use crate::db::schema::calendar_sync_channels::dsl;

/// What asking for the lease gave.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseOutcome {
    /// The lease is ours until it expires (or is released).
    Acquired(Box<CalendarChannel>),
    /// Another worker holds an unexpired lease (or, for a push, an inbound sync waits).
    Busy,
    /// The channel is not active (needs re-authorisation, or stopped).
    Inactive(ChannelStatus),
    /// No such channel.
    Unknown,
}

/// `now() + ttl`, on the database's clock so workers with skewed clocks agree.
fn expires_in(ttl: Duration) -> diesel::expression::SqlLiteral<Nullable<Timestamptz>> {
    // An integer rendered by Rust: nothing from input reaches the SQL text.
    diesel::dsl::sql(&format!(
        "now() + interval '{} milliseconds'",
        ttl.as_millis()
    ))
}

/// The lease is free: never taken, expired, or already `owner`'s.
macro_rules! free_for {
    ($owner:expr) => {
        dsl::sync_lease_expires_at
            .is_null()
            .or(dsl::sync_lease_expires_at.le(diesel::dsl::now))
            .or(dsl::sync_lease_owner.eq($owner))
    };
}

/// For an inbound sync of the channel Google knows as `channel_id`: takes the lease if it is
/// free. When it is busy, records that a sync waits (`sync_wanted_at`), so the calendar's
/// push lets it go first.
pub fn acquire_for_sync(
    conn: &mut PgConnection,
    channel_id: &str,
    owner: Uuid,
    ttl: Duration,
) -> QueryResult<LeaseOutcome> {
    let taken = diesel::update(
        dsl::calendar_sync_channels
            .filter(dsl::channel_id.eq(channel_id))
            .filter(dsl::status.eq(ChannelStatus::Active))
            .filter(free_for!(owner)),
    )
    .set((
        dsl::sync_lease_owner.eq(owner),
        dsl::sync_lease_expires_at.eq(expires_in(ttl)),
        dsl::sync_wanted_at.eq(None::<chrono::DateTime<chrono::Utc>>),
        // The burst throttle measures its interval from here (`channel_duty::throttle`).
        dsl::last_sync_started_at.eq(diesel::dsl::now),
    ))
    .returning(CalendarChannel::as_returning())
    .get_result(conn)
    .optional()?;
    if let Some(channel) = taken {
        return Ok(LeaseOutcome::Acquired(Box::new(channel)));
    }
    Ok(match find_by_channel_id(conn, channel_id)? {
        None => LeaseOutcome::Unknown,
        Some(c) if c.status != ChannelStatus::Active => LeaseOutcome::Inactive(c.status),
        Some(c) => {
            diesel::update(dsl::calendar_sync_channels.find(c.id))
                .set(dsl::sync_wanted_at.eq(diesel::dsl::now))
                .execute(conn)?;
            LeaseOutcome::Busy
        }
    })
}

/// For the outbound push of the calendar whose row is `row_id`: takes the lease if it is
/// free and no inbound sync has been waiting for it within `ttl` (the sync goes first: it
/// brings in what Google knows that the push should not overwrite).
pub fn acquire_for_push(
    conn: &mut PgConnection,
    row_id: Uuid,
    owner: Uuid,
    ttl: Duration,
) -> QueryResult<LeaseOutcome> {
    let waited_since: diesel::expression::SqlLiteral<Nullable<Timestamptz>> = diesel::dsl::sql(
        &format!("now() - interval '{} milliseconds'", ttl.as_millis()),
    );
    let taken = diesel::update(
        dsl::calendar_sync_channels
            .find(row_id)
            .filter(dsl::status.eq(ChannelStatus::Active))
            .filter(free_for!(owner))
            .filter(
                dsl::sync_wanted_at
                    .is_null()
                    .or(dsl::sync_wanted_at.lt(waited_since)),
            ),
    )
    .set((
        dsl::sync_lease_owner.eq(owner),
        dsl::sync_lease_expires_at.eq(expires_in(ttl)),
    ))
    .returning(CalendarChannel::as_returning())
    .get_result(conn)
    .optional()?;
    if let Some(channel) = taken {
        return Ok(LeaseOutcome::Acquired(Box::new(channel)));
    }
    let status: Option<ChannelStatus> = dsl::calendar_sync_channels
        .find(row_id)
        .select(dsl::status)
        .first(conn)
        .optional()?;
    Ok(match status {
        None => LeaseOutcome::Unknown,
        Some(s) if s != ChannelStatus::Active => LeaseOutcome::Inactive(s),
        Some(_) => LeaseOutcome::Busy,
    })
}

/// Pushes the lease's expiry out again. Returns false when `owner` no longer holds it.
pub fn extend(
    conn: &mut PgConnection,
    row_id: Uuid,
    owner: Uuid,
    ttl: Duration,
) -> QueryResult<bool> {
    diesel::update(
        dsl::calendar_sync_channels
            .find(row_id)
            .filter(dsl::sync_lease_owner.eq(owner))
            .filter(dsl::sync_lease_expires_at.gt(diesel::dsl::now)),
    )
    .set(dsl::sync_lease_expires_at.eq(expires_in(ttl)))
    .execute(conn)
    .map(|n| n == 1)
}

/// Inside a committing transaction: locks the channel row if `owner` still holds an
/// unexpired lease. `None` means the lease was lost and nothing may be committed.
pub fn fence(
    conn: &mut PgConnection,
    row_id: Uuid,
    owner: Uuid,
) -> QueryResult<Option<CalendarChannel>> {
    dsl::calendar_sync_channels
        .find(row_id)
        .filter(dsl::sync_lease_owner.eq(owner))
        .filter(dsl::sync_lease_expires_at.gt(diesel::dsl::now))
        .for_update()
        .select(CalendarChannel::as_select())
        .first(conn)
        .optional()
}

/// Gives the lease up (a no-op unless `owner` holds it).
pub fn release(conn: &mut PgConnection, row_id: Uuid, owner: Uuid) -> QueryResult<()> {
    diesel::update(
        dsl::calendar_sync_channels
            .find(row_id)
            .filter(dsl::sync_lease_owner.eq(owner)),
    )
    .set((
        dsl::sync_lease_owner.eq(None::<Uuid>),
        dsl::sync_lease_expires_at.eq(None::<chrono::DateTime<chrono::Utc>>),
    ))
    .execute(conn)
    .map(|_| ())
}
