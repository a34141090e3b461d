//! The channel row's periodic duties, each claimed by one worker of the fleet: renewal (due
//! at a point of the renewal window drawn per row, `renewal_jitter`), the backstop poll
//! (`backstop_due_at`), and the per-channel burst throttle (`last_sync_started_at`,
//! `sync_trailing_at`). Claims use `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait
//! for each other and never take the same row; every time is the database's clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamptz, Varchar};
use uuid::Uuid;

use super::channel_stray;
use crate::db::schema::calendar_sync_channels::dsl;
use crate::ids::UserId;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A channel claimed for a duty.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ClaimedChannel {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Varchar)]
    pub calendar_id: String,
    #[diesel(sql_type = Varchar)]
    pub channel_id: String,
    #[diesel(sql_type = Varchar)]
    pub resource_id: String,
    /// Whether a backstop poll found changes no notification announced.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub suspect_since: Option<DateTime<Utc>>,
}

impl ClaimedChannel {
    pub fn user(&self) -> UserId {
        UserId(self.user_id)
    }
}

/// Claims, for `claim`, up to `limit` active channels due for renewal: those whose point in
/// the renewal window (`window` before expiry, `renewal_jitter` choosing where between the
/// window's start and three quarters into it) has come, and suspect ones at once. A claim
/// that has run out (its worker died) can be taken again.
pub fn claim_renewals(
    conn: &mut PgConnection,
    window: Duration,
    claim: Duration,
    limit: i64,
) -> QueryResult<Vec<ClaimedChannel>> {
    diesel::sql_query(
        "WITH t AS (SELECT (extract(epoch FROM now()) * 1000)::bigint AS now_ms) \
         UPDATE calendar_sync_channels c \
         SET renewal_claimed_until = now() + $1 * interval '1 millisecond' \
         FROM (SELECT ch.id FROM calendar_sync_channels ch, t \
               WHERE ch.status = 'active' \
                 AND (ch.renewal_claimed_until IS NULL OR ch.renewal_claimed_until < now()) \
                 AND (ch.suspect_since IS NOT NULL \
                      OR (ch.expiration_timestamp <= t.now_ms + $2 \
                          AND ch.expiration_timestamp \
                              - $2 * (0.25 + 0.75 * ch.renewal_jitter) <= t.now_ms)) \
               ORDER BY ch.expiration_timestamp LIMIT $3 \
               FOR UPDATE OF ch SKIP LOCKED) due \
         WHERE c.id = due.id \
         RETURNING c.id, c.user_id, c.calendar_id, c.channel_id, c.resource_id, c.suspect_since",
    )
    .bind::<BigInt, _>(millis(claim))
    .bind::<BigInt, _>(millis(window))
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// Gives a renewal claim up (the renewal failed and should be tried by the next pass).
pub fn release_renewal(conn: &mut PgConnection, row_id: Uuid) -> QueryResult<()> {
    diesel::update(dsl::calendar_sync_channels.find(row_id))
        .set(dsl::renewal_claimed_until.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .map(|_| ())
}

/// The new channel of a renewal, as Google created it.
#[derive(Debug, Clone)]
pub struct Replacement<'a> {
    pub channel_id: &'a str,
    pub resource_id: &'a str,
    pub resource_uri: Option<&'a str>,
    pub expiration_ms: i64,
}

/// What putting the new channel in place gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// The row names the new channel; the old one is recorded as a stray to stop.
    Done,
    /// The new channel's stray record was gone (a pass is stopping it): nothing changed.
    NewChannelStopped,
    /// The row no longer names the old channel (re-watched or deleted meanwhile): the new
    /// channel stays recorded as a stray and is stopped by a later pass.
    RowChanged,
}

/// In one transaction: takes the new channel's stray record, puts the new channel on the row
/// in place of `old_channel_id` (a new renewal point is drawn, the claim and any suspicion
/// end), and records the old channel as a stray to stop after `grace` (the caller stops it
/// at once and deletes the record; the record is for a caller that dies first).
pub fn swap_renewed(
    conn: &mut PgConnection,
    row_id: Uuid,
    old_channel_id: &str,
    old_resource_id: &str,
    new: &Replacement<'_>,
    grace: Duration,
) -> QueryResult<Swap> {
    conn.transaction(|conn| {
        if !channel_stray::take(conn, new.channel_id)? {
            return Ok(Swap::NewChannelStopped);
        }
        let swapped: Option<UserId> = diesel::update(
            dsl::calendar_sync_channels
                .find(row_id)
                .filter(dsl::channel_id.eq(old_channel_id)),
        )
        .set((
            dsl::channel_id.eq(new.channel_id),
            dsl::resource_id.eq(new.resource_id),
            dsl::resource_uri.eq(new.resource_uri),
            dsl::expiration_timestamp.eq(new.expiration_ms),
            dsl::last_message_number.eq(None::<i64>),
            dsl::renewal_claimed_until.eq(None::<DateTime<Utc>>),
            dsl::renewal_jitter.eq(diesel::dsl::sql::<Double>("random()")),
            dsl::suspect_since.eq(None::<DateTime<Utc>>),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .returning(dsl::user_id)
        .get_result(conn)
        .optional()?;
        let Some(user_id) = swapped else {
            // Put the record back: this channel is nobody's and must be stopped.
            diesel::sql_query(
                "INSERT INTO channel_strays (channel_id, user_id, resource_id, stop_after) \
                 SELECT $1, user_id, $2, now() FROM calendar_sync_channels WHERE id = $3 \
                 ON CONFLICT DO NOTHING",
            )
            .bind::<Text, _>(new.channel_id)
            .bind::<Text, _>(new.resource_id)
            .bind::<diesel::sql_types::Uuid, _>(row_id)
            .execute(conn)?;
            return Ok(Swap::RowChanged);
        };
        channel_stray::record(conn, old_channel_id, user_id, old_resource_id, grace)?;
        Ok(Swap::Done)
    })
}

/// A channel due for a backstop poll, claimed by this worker.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct BackstopDue {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Varchar)]
    pub channel_id: String,
    #[diesel(sql_type = Varchar)]
    pub resource_id: String,
}

/// In one statement, for up to `limit` active channels whose backstop poll is due (never set
/// counts as due): a channel that had a notification or a sync within `interval` is pushed
/// back to `interval` after it, and not polled; every other one gets its next due time
/// (`interval` varied by ±25% per row, so polls never bunch up) and is returned, to be polled
/// by the caller. Rows another worker is claiming are skipped, so each poll is made once.
pub fn claim_backstops(
    conn: &mut PgConnection,
    interval: Duration,
    limit: i64,
) -> QueryResult<Vec<BackstopDue>> {
    diesel::sql_query(
        "WITH due AS (SELECT id, last_notification_at FROM calendar_sync_channels \
                      WHERE status = 'active' \
                        AND (backstop_due_at IS NULL OR backstop_due_at <= now()) \
                      ORDER BY backstop_due_at NULLS FIRST LIMIT $2 \
                      FOR UPDATE SKIP LOCKED), \
         moved AS (UPDATE calendar_sync_channels c \
                   SET backstop_due_at = CASE \
                       WHEN due.last_notification_at > now() - $1 * interval '1 millisecond' \
                       THEN due.last_notification_at + $1 * interval '1 millisecond' \
                       ELSE now() + $1 * (0.75 + 0.5 * random()) * interval '1 millisecond' END \
                   FROM due WHERE c.id = due.id \
                   RETURNING c.id, c.channel_id, c.resource_id, \
                       (due.last_notification_at IS NULL \
                        OR due.last_notification_at <= now() - $1 * interval '1 millisecond') \
                       AS poll) \
         SELECT id, channel_id, resource_id FROM moved WHERE poll",
    )
    .bind::<BigInt, _>(millis(interval))
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// Makes the channel's backstop poll due at once (a poll that could not be enqueued).
pub fn backstop_due_now(conn: &mut PgConnection, row_id: Uuid) -> QueryResult<()> {
    diesel::update(dsl::calendar_sync_channels.find(row_id))
        .set(dsl::backstop_due_at.eq(diesel::dsl::now))
        .execute(conn)
        .map(|_| ())
}

/// Marks the channel suspect (a backstop poll found changes that no notification announced),
/// which makes it due for renewal at once: it is watched again.
pub fn mark_suspect(conn: &mut PgConnection, channel_id: &str) -> QueryResult<bool> {
    diesel::update(dsl::calendar_sync_channels.filter(dsl::channel_id.eq(channel_id)))
        .set(dsl::suspect_since.eq(diesel::dsl::now))
        .execute(conn)
        .map(|n| n == 1)
}

/// What the burst throttle says about a notification's sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// Sync now: no sync started within the interval.
    SyncNow,
    /// This job is the channel's trailing sync: run it after this long.
    Trail(Duration),
    /// A trailing sync that starts after this notification is already scheduled: this job
    /// has nothing left to do.
    Joined,
}

/// For a notification of `channel_id` received now: whether to sync at once, become the one
/// trailing sync (`interval` after the last sync started), or join the trailing sync already
/// scheduled. A channel calsync does not know syncs now (the sync says it is unknown).
pub fn throttle(
    conn: &mut PgConnection,
    channel_id: &str,
    interval: Duration,
) -> QueryResult<Throttle> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        wait_ms: i64,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        trailing: bool,
    }
    // One statement: claims the trailing slot when it is free (never taken, or its time has
    // come, so that run is under way) and reports how long until the interval is over. The
    // trailing sync waits for time, not for the lease: a push may go on meanwhile (the
    // trailing sync says it wants the lease again when it runs).
    let row: Option<Row> = diesel::sql_query(
        "WITH ch AS (SELECT id, last_sync_started_at + $2 * interval '1 millisecond' AS due, \
                            sync_trailing_at FROM calendar_sync_channels \
                     WHERE channel_id = $1 AND last_sync_started_at IS NOT NULL \
                       AND last_sync_started_at + $2 * interval '1 millisecond' > now()), \
         claimed AS (UPDATE calendar_sync_channels c \
                     SET sync_trailing_at = ch.due, sync_wanted_at = NULL FROM ch \
                     WHERE c.id = ch.id \
                       AND (c.sync_trailing_at IS NULL OR c.sync_trailing_at <= now()) \
                     RETURNING c.id) \
         SELECT (extract(epoch FROM (ch.due - now())) * 1000)::bigint AS wait_ms, \
                EXISTS (SELECT 1 FROM claimed) AS trailing FROM ch",
    )
    .bind::<Text, _>(channel_id)
    .bind::<BigInt, _>(millis(interval))
    .get_result(conn)
    .optional()?;
    Ok(match row {
        None => Throttle::SyncNow,
        Some(r) if r.trailing => {
            Throttle::Trail(Duration::from_millis(u64::try_from(r.wait_ms).unwrap_or(0)))
        }
        Some(_) => Throttle::Joined,
    })
}
