//! The audit trail of changes that came from Google (`calendar_sync_audit`): each applied or
//! rejected, and for a deadline changed on both sides, both values and both change times.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::schema::calendar_sync_audit::{self, dsl};
use crate::ids::{CaseId, UserId};

/// Whether Google's change was applied to the case (over the tracker's, when both changed),
/// or lost to a later tracker change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    Applied,
    Rejected,
}

impl AuditOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = calendar_sync_audit)]
pub struct NewAuditEntry<'a> {
    pub case_id: CaseId,
    pub user_id: UserId,
    pub field: &'a str,
    pub old_value: Option<NaiveDate>,
    pub new_value: Option<NaiveDate>,
    pub google_event_id: &'a str,
    pub google_etag: Option<&'a str>,
    pub outcome: &'static str,
    /// Both sides had changed the deadline since it was last in sync.
    pub conflict: bool,
    pub tracker_value: Option<NaiveDate>,
    pub google_value: Option<NaiveDate>,
    pub tracker_changed_at: Option<DateTime<Utc>>,
    pub google_updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = calendar_sync_audit, check_for_backend(diesel::pg::Pg))]
pub struct AuditEntry {
    pub id: i64,
    pub case_id: CaseId,
    pub user_id: UserId,
    pub field: String,
    pub old_value: Option<NaiveDate>,
    pub new_value: Option<NaiveDate>,
    pub google_event_id: String,
    pub google_etag: Option<String>,
    pub outcome: String,
    pub recorded_at: DateTime<Utc>,
    pub conflict: bool,
    pub tracker_value: Option<NaiveDate>,
    pub google_value: Option<NaiveDate>,
    pub tracker_changed_at: Option<DateTime<Utc>>,
    pub google_updated_at: Option<DateTime<Utc>>,
}

pub fn insert(conn: &mut PgConnection, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(dsl::calendar_sync_audit)
        .values(entry)
        .execute(conn)
        .map(|_| ())
}

/// A case's audit trail, oldest first.
pub fn list_for_case(conn: &mut PgConnection, case_id: CaseId) -> QueryResult<Vec<AuditEntry>> {
    dsl::calendar_sync_audit
        .filter(dsl::case_id.eq(case_id))
        .order(dsl::id.asc())
        .select(AuditEntry::as_select())
        .load(conn)
}
