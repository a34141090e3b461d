//! One deadline of a case, as the two sync directions read and write it, with its revision:
//! who changed it last and when the tracker last wrote it. The column is chosen from the
//! fixed `DeadlineKind` list, never from input, so formatting it into SQL is safe.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text, Timestamptz};

use crate::domain::DeadlineKind;
use crate::ids::{CaseId, UserId};

/// The tracker's side of a deadline's history (`case_deadline_revisions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct Revision {
    /// How many times the tracker (any writer but calsync's apply of a Google edit) has
    /// written this deadline.
    #[diesel(sql_type = BigInt)]
    pub tracker_rev: i64,
    /// When the tracker last wrote it (stamped as its transaction committed).
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub tracker_changed_at: Option<DateTime<Utc>>,
}

/// A deadline's current value with what the sync needs to decide about it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct CaseDeadline {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: UserId,
    #[diesel(sql_type = Nullable<Date>)]
    pub value: Option<NaiveDate>,
    /// Neither closed nor deleted.
    #[diesel(sql_type = Bool)]
    pub open: bool,
}

/// Reads one deadline and locks the case row until the transaction ends, then reads its
/// revision. Two statements on purpose: the revision is read after the lock is granted, so it
/// includes a tracker write that held the row until it committed.
pub fn lock(
    conn: &mut PgConnection,
    case_id: CaseId,
    kind: DeadlineKind,
) -> QueryResult<Option<(CaseDeadline, Revision)>> {
    let Some(deadline) = sql_query(format!(
        "SELECT c.user_id, c.{col} AS value,
                (c.closed_at IS NULL AND c.deleted_at IS NULL) AS open
         FROM cases c WHERE c.id = $1 FOR UPDATE",
        col = kind.column()
    ))
    .bind::<diesel::sql_types::Uuid, _>(case_id)
    .get_result::<CaseDeadline>(conn)
    .optional()?
    else {
        return Ok(None);
    };
    Ok(Some((deadline, revision(conn, case_id, kind)?)))
}

/// The deadline's revision (all zero when the tracker never wrote it).
pub fn revision(
    conn: &mut PgConnection,
    case_id: CaseId,
    kind: DeadlineKind,
) -> QueryResult<Revision> {
    Ok(sql_query(
        "SELECT tracker_rev, tracker_changed_at FROM case_deadline_revisions
         WHERE case_id = $1 AND deadline_kind = $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(case_id)
    .bind::<Text, _>(kind.column())
    .get_result::<Revision>(conn)
    .optional()?
    .unwrap_or_default())
}

/// Sets a deadline from Google, inside the caller's transaction, and stamps
/// `calendar_last_synced_at`. The revision is written first, naming this transaction, so the
/// triggers know the change is Google's (at Google's `updated`): it counts as no tracker
/// write and queues no push. Returns whether the case exists.
pub fn set_from_google(
    conn: &mut PgConnection,
    case_id: CaseId,
    kind: DeadlineKind,
    value: NaiveDate,
    google_updated: DateTime<Utc>,
) -> QueryResult<bool> {
    sql_query(
        "INSERT INTO case_deadline_revisions
             (case_id, deadline_kind, changed_at, origin, google_txid)
         VALUES ($1, $2, $3, 'google', txid_current())
         ON CONFLICT (case_id, deadline_kind) DO UPDATE
             SET changed_at = EXCLUDED.changed_at, origin = 'google',
                 google_txid = EXCLUDED.google_txid",
    )
    .bind::<diesel::sql_types::Uuid, _>(case_id)
    .bind::<Text, _>(kind.column())
    .bind::<Timestamptz, _>(google_updated)
    .execute(conn)?;
    sql_query(format!(
        "UPDATE cases SET {col} = $2, calendar_last_synced_at = now() WHERE id = $1",
        col = kind.column()
    ))
    .bind::<diesel::sql_types::Uuid, _>(case_id)
    .bind::<Date, _>(value)
    .execute(conn)
    .map(|n| n == 1)
}

/// Stamps `calendar_last_synced_at` on cases the sync looked at without changing them.
pub fn touch_synced(conn: &mut PgConnection, case_ids: &[CaseId]) -> QueryResult<usize> {
    use crate::db::schema::cases::dsl;
    if case_ids.is_empty() {
        return Ok(0);
    }
    diesel::update(dsl::cases.filter(dsl::id.eq_any(case_ids)))
        .set(dsl::calendar_last_synced_at.eq(diesel::dsl::now))
        .execute(conn)
}
