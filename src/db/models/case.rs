//! A case as the outbound push reads it.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::schema::cases::{self, dsl};
use crate::domain::DeadlineKind;
use crate::ids::{CaseId, UserId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = cases, check_for_backend(diesel::pg::Pg))]
pub struct Case {
    pub id: CaseId,
    pub user_id: UserId,
    pub employer_name: String,
    pub beneficiary_name: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub pwd_expiration_date: Option<NaiveDate>,
    pub recruitment_start_date: Option<NaiveDate>,
    pub filing_window_opens: Option<NaiveDate>,
    pub filing_window_closes: Option<NaiveDate>,
    pub eta9089_filing_date: Option<NaiveDate>,
    pub eta9089_expiration_date: Option<NaiveDate>,
    pub i140_filing_deadline: Option<NaiveDate>,
    pub rfi_due_date: Option<NaiveDate>,
    pub rfe_due_date: Option<NaiveDate>,
}

impl Case {
    /// Neither closed nor deleted.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none() && self.deleted_at.is_none()
    }

    pub fn deadline(&self, kind: DeadlineKind) -> Option<NaiveDate> {
        match kind {
            DeadlineKind::PwdExpiration => self.pwd_expiration_date,
            DeadlineKind::RecruitmentStart => self.recruitment_start_date,
            DeadlineKind::FilingWindowOpens => self.filing_window_opens,
            DeadlineKind::FilingWindowCloses => self.filing_window_closes,
            DeadlineKind::Eta9089Filing => self.eta9089_filing_date,
            DeadlineKind::Eta9089Expiration => self.eta9089_expiration_date,
            DeadlineKind::I140FilingDeadline => self.i140_filing_deadline,
            DeadlineKind::RfiDue => self.rfi_due_date,
            DeadlineKind::RfeDue => self.rfe_due_date,
        }
    }
}

pub fn find(conn: &mut PgConnection, case_id: CaseId) -> QueryResult<Option<Case>> {
    dsl::cases
        .find(case_id)
        .select(Case::as_select())
        .first(conn)
        .optional()
}

/// Ids of a user's open cases (a newly watched calendar gets all their deadlines).
pub fn open_case_ids(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Vec<CaseId>> {
    dsl::cases
        .filter(dsl::user_id.eq(user_id))
        .filter(dsl::closed_at.is_null())
        .filter(dsl::deleted_at.is_null())
        .select(dsl::id)
        .load(conn)
}
