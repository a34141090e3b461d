//! Channels that may be live at Google without a channel row naming them
//! (`channel_strays`): the new channel of a renewal, recorded before events.watch, and the
//! channel a renewal replaced, recorded with the swap. Whoever finishes the step deletes its
//! record; a record left behind (its worker died) is stopped at Google by a later pass once
//! its `stop_after` has passed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz};

use crate::db::schema::channel_strays::{self, dsl};
use crate::ids::UserId;

/// A record as read.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = channel_strays, check_for_backend(diesel::pg::Pg))]
pub struct ChannelStray {
    pub channel_id: String,
    pub user_id: UserId,
    pub resource_id: String,
    pub stop_after: DateTime<Utc>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// `now() + d`, on the database's clock (an integer rendered by Rust: no input in the SQL).
pub(super) fn db_now_plus(d: Duration) -> diesel::expression::SqlLiteral<Timestamptz> {
    diesel::dsl::sql(&format!(
        "now() + interval '{} milliseconds'",
        d.as_millis()
    ))
}

/// Records `channel_id` (of `user_id`, on the calendar whose resource is `resource_id`) as
/// possibly live, to be stopped after `grace` unless its record is taken first.
pub fn record(
    conn: &mut PgConnection,
    channel_id: &str,
    user_id: UserId,
    resource_id: &str,
    grace: Duration,
) -> QueryResult<()> {
    diesel::insert_into(dsl::channel_strays)
        .values((
            dsl::channel_id.eq(channel_id),
            dsl::user_id.eq(user_id),
            dsl::resource_id.eq(resource_id),
            dsl::stop_after.eq(db_now_plus(grace)),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|_| ())
}

/// Takes the record of `channel_id` away, unless a pass is stopping it right now (its claim
/// is live). Returns whether it was taken: `false` means the channel is (being) stopped, and
/// must not be put on a channel row.
pub fn take(conn: &mut PgConnection, channel_id: &str) -> QueryResult<bool> {
    diesel::delete(
        dsl::channel_strays
            .filter(dsl::channel_id.eq(channel_id))
            .filter(
                dsl::claimed_until
                    .is_null()
                    .or(dsl::claimed_until.lt(diesel::dsl::now)),
            ),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// Deletes the record of `channel_id` (it was stopped, or a row names it).
pub fn delete(conn: &mut PgConnection, channel_id: &str) -> QueryResult<()> {
    diesel::delete(dsl::channel_strays.filter(dsl::channel_id.eq(channel_id)))
        .execute(conn)
        .map(|_| ())
}

/// Claims up to `limit` records whose `stop_after` has passed and that no live claim holds,
/// for `claim` (other workers skip them meanwhile, and skip rows another claim is taking).
pub fn claim_due(
    conn: &mut PgConnection,
    limit: i64,
    claim: Duration,
) -> QueryResult<Vec<ChannelStray>> {
    let claim_ms = i64::try_from(claim.as_millis()).unwrap_or(i64::MAX);
    diesel::sql_query(
        "UPDATE channel_strays s \
         SET claimed_until = now() + $1 * interval '1 millisecond' \
         FROM (SELECT channel_id FROM channel_strays \
               WHERE stop_after <= now() AND (claimed_until IS NULL OR claimed_until < now()) \
               ORDER BY stop_after LIMIT $2 FOR UPDATE SKIP LOCKED) due \
         WHERE s.channel_id = due.channel_id \
         RETURNING s.channel_id, s.user_id, s.resource_id, s.stop_after, s.claimed_until, \
                   s.created_at",
    )
    .bind::<BigInt, _>(claim_ms)
    .bind::<BigInt, _>(limit)
    .load::<StrayRow>(conn)
    .map(|rows| rows.into_iter().map(Into::into).collect())
}

#[derive(QueryableByName)]
struct StrayRow {
    #[diesel(sql_type = diesel::sql_types::Varchar)]
    channel_id: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    user_id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Varchar)]
    resource_id: String,
    #[diesel(sql_type = Timestamptz)]
    stop_after: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    claimed_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

impl From<StrayRow> for ChannelStray {
    fn from(r: StrayRow) -> Self {
        Self {
            channel_id: r.channel_id,
            user_id: UserId(r.user_id),
            resource_id: r.resource_id,
            stop_after: r.stop_after,
            claimed_until: r.claimed_until,
            created_at: r.created_at,
        }
    }
}

/// Every record (tests and the operator's view).
pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<ChannelStray>> {
    dsl::channel_strays
        .order(dsl::created_at.asc())
        .select(ChannelStray::as_select())
        .load(conn)
}
