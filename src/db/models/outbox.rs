//! The outbox of case changes waiting to reach Google (`calendar_outbox`).

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Uuid as SqlUuid};
use serde::Deserialize;
use uuid::Uuid;

use crate::db::schema::calendar_outbox::dsl;

/// An event still on a calendar when its case was hard-deleted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrphanedEvent {
    pub calendar_id: String,
    pub event_id: String,
}

/// One case waiting, with every outbox row for it up to `last_id`.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct PendingCase {
    #[diesel(sql_type = SqlUuid)]
    pub case_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub last_id: i64,
    #[diesel(sql_type = Jsonb)]
    orphaned: serde_json::Value,
}

impl PendingCase {
    /// Events of a hard-deleted case that must go.
    pub fn orphaned_events(&self) -> Vec<OrphanedEvent> {
        serde_json::from_value(self.orphaned.clone()).unwrap_or_default()
    }
}

/// Cases of `user_id` with rows due now, oldest first, at most `limit`.
pub fn pending_cases(
    conn: &mut PgConnection,
    user_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<PendingCase>> {
    diesel::sql_query(
        "SELECT case_id, max(id) AS last_id,
                coalesce(jsonb_agg(e) FILTER (WHERE e IS NOT NULL), '[]'::jsonb) AS orphaned
         FROM calendar_outbox
         LEFT JOIN LATERAL jsonb_array_elements(deleted_events) e ON true
         WHERE user_id = $1 AND available_at <= now()
         GROUP BY case_id
         ORDER BY min(id)
         LIMIT $2",
    )
    .bind::<SqlUuid, _>(user_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// Removes a case's rows up to `last_id` (rows written since stay for the next run).
pub fn complete(
    conn: &mut PgConnection,
    user_id: Uuid,
    case_id: Uuid,
    last_id: i64,
) -> QueryResult<usize> {
    diesel::delete(
        dsl::calendar_outbox
            .filter(dsl::user_id.eq(user_id))
            .filter(dsl::case_id.eq(case_id))
            .filter(dsl::id.le(last_id)),
    )
    .execute(conn)
}

/// Postpones a user's rows after a failure, counting the attempt.
pub fn defer(conn: &mut PgConnection, user_id: Uuid, delay: Duration) -> QueryResult<usize> {
    diesel::sql_query(format!(
        "UPDATE calendar_outbox SET attempts = attempts + 1,
                available_at = now() + interval '{} milliseconds'
         WHERE user_id = $1",
        delay.as_millis()
    ))
    .bind::<SqlUuid, _>(user_id)
    .execute(conn)
}

/// Drops a user's rows (they have no calendar to push to).
pub fn discard_for_user(conn: &mut PgConnection, user_id: Uuid) -> QueryResult<usize> {
    diesel::delete(dsl::calendar_outbox.filter(dsl::user_id.eq(user_id))).execute(conn)
}

/// Users with rows due now, for the sweep that enqueues their push jobs.
pub fn users_with_due_rows(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Uuid>> {
    dsl::calendar_outbox
        .filter(dsl::available_at.le(diesel::dsl::now))
        .select(dsl::user_id)
        .distinct()
        .limit(limit)
        .load(conn)
}

/// Rows waiting, due or backed off.
pub fn count_waiting(conn: &mut PgConnection) -> QueryResult<i64> {
    dsl::calendar_outbox.count().get_result(conn)
}

/// Queues a push for each of `case_ids` (used when a calendar is first watched).
pub fn enqueue_cases(
    conn: &mut PgConnection,
    user_id: Uuid,
    case_ids: &[Uuid],
) -> QueryResult<usize> {
    diesel::sql_query("INSERT INTO calendar_outbox (user_id, case_id) SELECT $1, unnest($2)")
        .bind::<SqlUuid, _>(user_id)
        .bind::<Array<SqlUuid>, _>(case_ids)
        .execute(conn)
}
