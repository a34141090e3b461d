//! One deadline of a case, as the sync reads and writes it. The column is chosen from the
//! fixed `DeadlineKind` list, never from input, so formatting it into SQL is safe.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Bool, Date, Nullable, Text, Timestamptz};

use crate::domain::DeadlineKind;
use crate::ids::{CaseId, UserId};

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
    /// When this deadline last changed in the tracker (any writer), if ever recorded.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub changed_at: Option<DateTime<Utc>>,
}

/// Reads one deadline and locks the case row until the transaction ends.
pub fn lock(
    conn: &mut PgConnection,
    case_id: CaseId,
    kind: DeadlineKind,
) -> QueryResult<Option<CaseDeadline>> {
    sql_query(format!(
        "SELECT c.user_id, c.{col} AS value,
                (c.closed_at IS NULL AND c.deleted_at IS NULL) AS open, r.changed_at
         FROM cases c
         LEFT JOIN case_deadline_revisions r ON r.case_id = c.id AND r.deadline_kind = $2
         WHERE c.id = $1
         FOR UPDATE OF c",
        col = kind.column()
    ))
    .bind::<diesel::sql_types::Uuid, _>(case_id)
    .bind::<Text, _>(kind.column())
    .get_result(conn)
    .optional()
}

/// Sets a deadline from Google and stamps `calendar_last_synced_at`. Returns whether the
/// case exists.
pub fn set_from_google(
    conn: &mut PgConnection,
    case_id: CaseId,
    kind: DeadlineKind,
    value: NaiveDate,
) -> QueryResult<bool> {
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
