//! The outbox of case changes waiting to reach Google (`calendar_outbox`).

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text, Uuid as SqlUuid};
use serde::Deserialize;

use crate::db::schema::calendar_outbox::dsl;
use crate::ids::{CaseId, UserId};

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
    pub case_id: CaseId,
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

/// Claims `user_id`'s oldest waiting case for one push: a case whose rows are all due (none
/// backed off, none claimed by another push). Its rows are held for `lease`, so neither the
/// sweep nor a concurrent push for the same user takes the case until this push completes
/// it, defers it, or dies and the lease runs out. Rows the trigger writes for the case
/// meanwhile are due at once but wait for the claim to end, so one case is never pushed by
/// two workers at the same time.
pub fn claim_next_case(
    conn: &mut PgConnection,
    user_id: UserId,
    lease: Duration,
) -> QueryResult<Option<PendingCase>> {
    conn.transaction(|conn| {
        // Claims of one user take turns: each sees the claims committed before it.
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock(hashtextextended('calsync_outbox:' || $1, 0))",
        )
        .bind::<Text, _>(user_id.to_string())
        .execute(conn)?;
        diesel::sql_query(format!(
            "WITH next AS (
                 SELECT case_id FROM calendar_outbox
                 WHERE user_id = $1
                 GROUP BY case_id
                 HAVING max(available_at) <= now()
                 ORDER BY min(id)
                 LIMIT 1
             ), claimed AS (
                 UPDATE calendar_outbox o
                 SET available_at = now() + interval '{} milliseconds'
                 FROM next
                 WHERE o.user_id = $1 AND o.case_id = next.case_id
                 RETURNING o.case_id, o.id, o.deleted_events
             )
             SELECT case_id, max(id) AS last_id,
                    coalesce(jsonb_agg(e) FILTER (WHERE e IS NOT NULL), '[]'::jsonb) AS orphaned
             FROM claimed
             LEFT JOIN LATERAL jsonb_array_elements(deleted_events) e ON true
             GROUP BY case_id",
            lease.as_millis()
        ))
        .bind::<SqlUuid, _>(user_id)
        .get_result(conn)
        .optional()
    })
}

/// Removes a case's rows up to `last_id` (rows written since stay for the next run).
pub fn complete(
    conn: &mut PgConnection,
    user_id: UserId,
    case_id: CaseId,
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

/// Postpones a user's rows after a failure, counting the attempt: the failed case's rows
/// (its claim ends) become due after `delay`; other rows wait at least as long, and cases
/// other pushes have claimed keep their claims.
pub fn defer(
    conn: &mut PgConnection,
    user_id: UserId,
    failed_case: Option<CaseId>,
    delay: Duration,
) -> QueryResult<usize> {
    diesel::sql_query(format!(
        "UPDATE calendar_outbox SET attempts = attempts + 1,
                available_at = CASE WHEN case_id IS NOT DISTINCT FROM $2 THEN {at}
                                    ELSE greatest(available_at, {at}) END
         WHERE user_id = $1",
        at = format_args!("now() + interval '{} milliseconds'", delay.as_millis())
    ))
    .bind::<SqlUuid, _>(user_id)
    .bind::<Nullable<SqlUuid>, _>(failed_case)
    .execute(conn)
}

/// Postpones one case's rows by `delay` without counting an attempt (its push only had to
/// wait for the calendar's lease); its claim ends.
pub fn postpone(
    conn: &mut PgConnection,
    user_id: UserId,
    case_id: CaseId,
    delay: Duration,
) -> QueryResult<usize> {
    diesel::sql_query(format!(
        "UPDATE calendar_outbox SET available_at = now() + interval '{} milliseconds'
         WHERE user_id = $1 AND case_id = $2",
        delay.as_millis()
    ))
    .bind::<SqlUuid, _>(user_id)
    .bind::<SqlUuid, _>(case_id)
    .execute(conn)
}

/// How many times the push of a user's case has failed so far (its rows' highest count).
pub fn attempts(conn: &mut PgConnection, user_id: UserId, case_id: CaseId) -> QueryResult<i32> {
    dsl::calendar_outbox
        .filter(dsl::user_id.eq(user_id))
        .filter(dsl::case_id.eq(case_id))
        .select(diesel::dsl::max(dsl::attempts))
        .first::<Option<i32>>(conn)
        .map(Option::unwrap_or_default)
}

/// Users with a case waiting and free to claim (see `claim_next_case`), for the sweep that
/// enqueues their push jobs.
pub fn users_with_due_rows(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<UserId>> {
    #[derive(QueryableByName)]
    struct User {
        #[diesel(sql_type = SqlUuid)]
        user_id: UserId,
    }
    // A user whose best channel waits for re-authorisation is left out: their push would
    // only answer "deferred", on every sweep, until they reconnect and watch again.
    diesel::sql_query(
        "SELECT DISTINCT user_id FROM (
             SELECT user_id FROM calendar_outbox
             GROUP BY user_id, case_id
             HAVING max(available_at) <= now()
         ) due
         WHERE EXISTS (SELECT 1 FROM calendar_sync_channels c
                       WHERE c.user_id = due.user_id AND c.status = 'active')
            OR NOT EXISTS (SELECT 1 FROM calendar_sync_channels c
                           WHERE c.user_id = due.user_id
                             AND c.status IN ('needs_reauth', 'held'))
         LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load::<User>(conn)
    .map(|users| users.into_iter().map(|u| u.user_id).collect())
}

/// Queues a push for each of `case_ids` (used when a calendar is first watched).
pub fn enqueue_cases(
    conn: &mut PgConnection,
    user_id: UserId,
    case_ids: &[CaseId],
) -> QueryResult<usize> {
    diesel::sql_query("INSERT INTO calendar_outbox (user_id, case_id) SELECT $1, unnest($2)")
        .bind::<SqlUuid, _>(user_id)
        .bind::<Array<SqlUuid>, _>(case_ids)
        .execute(conn)
}

/// What a user's outbox holds: rows waiting, the oldest row's age, the most attempts one
/// case has used (the status endpoint's "deadlines waiting" and "delayed").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    pub cases: i64,
    pub oldest: Option<chrono::DateTime<chrono::Utc>>,
    pub max_attempts: i32,
}

pub fn backlog(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Backlog> {
    use diesel::dsl::{count, max, min};
    let (cases, oldest, max_attempts) = dsl::calendar_outbox
        .filter(dsl::user_id.eq(user_id))
        .select((
            count(dsl::case_id).aggregate_distinct(),
            min(dsl::created_at),
            max(dsl::attempts),
        ))
        .first::<(i64, Option<chrono::DateTime<chrono::Utc>>, Option<i32>)>(conn)?;
    Ok(Backlog {
        cases,
        oldest,
        max_attempts: max_attempts.unwrap_or(0),
    })
}

/// Drops a user's waiting rows (they disconnected: nothing is pushed anywhere any more).
pub fn delete_for_user(conn: &mut PgConnection, user_id: UserId) -> QueryResult<usize> {
    diesel::delete(dsl::calendar_outbox.filter(dsl::user_id.eq(user_id))).execute(conn)
}
