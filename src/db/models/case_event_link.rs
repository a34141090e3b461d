//! Links between a case deadline and its Google event (`case_event_links`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::case_event_links::{self, dsl};
use crate::domain::{DeadlineKind, UnknownDeadlineKind};
use crate::ids::{CaseId, UserId};

/// A link row as read.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = case_event_links, check_for_backend(diesel::pg::Pg))]
pub struct CaseEventLink {
    pub id: Uuid,
    pub case_id: CaseId,
    pub user_id: UserId,
    pub deadline_kind: String,
    pub calendar_id: String,
    pub google_event_id: String,
    pub generation: i32,
    /// The etag of calsync's last write; an incoming event with this etag is our own echo.
    pub etag: Option<String>,
    pub synced_date: Option<NaiveDate>,
    pub dismissed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// calsync deleted the event (deadline cleared, case closed): a later date needs a new
    /// generation.
    pub removed: bool,
    /// The title calsync last wrote.
    pub synced_summary: Option<String>,
    /// The tracker revision `synced_date` reflects: a higher revision on the deadline means
    /// the tracker wrote it since (see `case_deadline::Revision`).
    pub synced_tracker_rev: Option<i64>,
    /// What calsync is writing to Google (set before the write, cleared when its answer is
    /// recorded): the echo of a write whose answer never came back is recognised by it.
    pub pending_date: Option<NaiveDate>,
    pub pending_summary: Option<String>,
    pub pending_tracker_rev: Option<i64>,
    pub pending_at: Option<DateTime<Utc>>,
    /// The event body version calsync last wrote (`EVENT_BODY_VERSION`).
    pub body_version: i32,
}

impl CaseEventLink {
    /// The deadline this link is for.
    pub fn kind(&self) -> Result<DeadlineKind, UnknownDeadlineKind> {
        self.deadline_kind.parse()
    }
}

/// A link to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_event_links)]
pub struct NewCaseEventLink<'a> {
    pub case_id: CaseId,
    pub user_id: UserId,
    pub deadline_kind: &'a str,
    pub calendar_id: &'a str,
    pub google_event_id: &'a str,
    pub generation: i32,
    pub etag: Option<&'a str>,
    pub synced_date: Option<NaiveDate>,
}

/// Inserts a link.
pub fn insert(conn: &mut PgConnection, new: &NewCaseEventLink<'_>) -> QueryResult<CaseEventLink> {
    diesel::insert_into(dsl::case_event_links)
        .values(new)
        .returning(CaseEventLink::as_returning())
        .get_result(conn)
}

/// The link of one deadline on one calendar.
pub fn find_for_deadline(
    conn: &mut PgConnection,
    case_id: CaseId,
    kind: DeadlineKind,
    calendar_id: &str,
) -> QueryResult<Option<CaseEventLink>> {
    dsl::case_event_links
        .filter(dsl::case_id.eq(case_id))
        .filter(dsl::deadline_kind.eq(kind.column()))
        .filter(dsl::calendar_id.eq(calendar_id))
        .select(CaseEventLink::as_select())
        .first(conn)
        .optional()
}

/// The link of the Google event `event_id` on a user's calendar.
pub fn find_by_event(
    conn: &mut PgConnection,
    user_id: UserId,
    calendar_id: &str,
    event_id: &str,
) -> QueryResult<Option<CaseEventLink>> {
    dsl::case_event_links
        .filter(dsl::user_id.eq(user_id))
        .filter(dsl::calendar_id.eq(calendar_id))
        .filter(dsl::google_event_id.eq(event_id))
        .select(CaseEventLink::as_select())
        .first(conn)
        .optional()
}

/// Records a date both sides now agree on, as the inbound sync decided it: the event's
/// version (`etag`), the date, and the tracker revision it reflects.
pub fn record_sync(
    conn: &mut PgConnection,
    link_id: Uuid,
    etag: &str,
    synced_date: NaiveDate,
    tracker_rev: i64,
) -> QueryResult<bool> {
    diesel::update(dsl::case_event_links.find(link_id))
        .set((
            dsl::etag.eq(etag),
            dsl::synced_date.eq(synced_date),
            dsl::synced_tracker_rev.eq(tracker_rev),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// The event Google lists is calsync's own pending write (its answer was never recorded):
/// it is recorded as the push would have recorded the answer. False when nothing is pending.
pub fn confirm_pending(
    conn: &mut PgConnection,
    link: &CaseEventLink,
    etag: &str,
) -> QueryResult<bool> {
    let (Some(date), Some(tracker_rev)) = (link.pending_date, link.pending_tracker_rev) else {
        return Ok(false);
    };
    let summary = link
        .pending_summary
        .as_deref()
        .or(link.synced_summary.as_deref())
        .unwrap_or_default();
    record_push(conn, link.id, etag, date, summary, tracker_rev)
}

/// What calsync is about to write to Google for this link, recorded before the request.
pub fn set_pending(
    conn: &mut PgConnection,
    link_id: Uuid,
    date: NaiveDate,
    summary: &str,
    tracker_rev: i64,
) -> QueryResult<bool> {
    diesel::update(dsl::case_event_links.find(link_id))
        .set((
            dsl::pending_date.eq(date),
            dsl::pending_summary.eq(summary),
            dsl::pending_tracker_rev.eq(tracker_rev),
            dsl::pending_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// The pending write was refused (it never reached the event): forget it.
pub fn clear_pending(conn: &mut PgConnection, link_id: Uuid) -> QueryResult<bool> {
    diesel::update(dsl::case_event_links.find(link_id))
        .set((
            dsl::pending_date.eq(None::<NaiveDate>),
            dsl::pending_summary.eq(None::<String>),
            dsl::pending_tracker_rev.eq(None::<i64>),
            dsl::pending_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Records the etag of the event version the sync has taken into account (without a date:
/// used when the event was deleted, or its change lost to the tracker's).
pub fn record_etag(conn: &mut PgConnection, link_id: Uuid, etag: &str) -> QueryResult<bool> {
    diesel::update(dsl::case_event_links.find(link_id))
        .set((dsl::etag.eq(etag), dsl::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Marks dismissed every live link of a user's calendar whose event is not in `seen_event_ids`
/// (a complete listing) and that existed before the listing started. Returns how many.
pub fn dismiss_missing(
    conn: &mut PgConnection,
    user_id: UserId,
    calendar_id: &str,
    seen_event_ids: &[String],
    listing_started_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        dsl::case_event_links
            .filter(dsl::user_id.eq(user_id))
            .filter(dsl::calendar_id.eq(calendar_id))
            .filter(dsl::dismissed.eq(false))
            .filter(dsl::removed.eq(false))
            .filter(dsl::updated_at.lt(listing_started_at))
            .filter(diesel::dsl::not(
                dsl::google_event_id.eq_any(seen_event_ids),
            )),
    )
    .set((
        dsl::dismissed.eq(true),
        dsl::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
}

/// The live links of a user's calendar (neither dismissed nor removed) that existed before a
/// listing started and whose event it does not show: what `dismiss_missing` would dismiss.
pub fn missing_from(
    conn: &mut PgConnection,
    user_id: UserId,
    calendar_id: &str,
    seen_event_ids: &[String],
    listing_started_at: DateTime<Utc>,
) -> QueryResult<Vec<CaseEventLink>> {
    dsl::case_event_links
        .filter(dsl::user_id.eq(user_id))
        .filter(dsl::calendar_id.eq(calendar_id))
        .filter(dsl::dismissed.eq(false))
        .filter(dsl::removed.eq(false))
        .filter(dsl::updated_at.lt(listing_started_at))
        .filter(diesel::dsl::not(
            dsl::google_event_id.eq_any(seen_event_ids),
        ))
        .select(CaseEventLink::as_select())
        .load(conn)
}

/// How many live links (neither dismissed nor removed) a user's calendar has.
pub fn count_live(conn: &mut PgConnection, user_id: UserId, calendar_id: &str) -> QueryResult<i64> {
    dsl::case_event_links
        .filter(dsl::user_id.eq(user_id))
        .filter(dsl::calendar_id.eq(calendar_id))
        .filter(dsl::dismissed.eq(false))
        .filter(dsl::removed.eq(false))
        .count()
        .get_result(conn)
}

/// Points the link at a new generation of its event (not yet written to Google).
pub fn start_generation(
    conn: &mut PgConnection,
    link_id: Uuid,
    generation: i32,
    event_id: &str,
) -> QueryResult<bool> {
    diesel::update(dsl::case_event_links.find(link_id))
        .set((
            dsl::generation.eq(generation),
            dsl::google_event_id.eq(event_id),
            dsl::etag.eq(None::<String>),
            dsl::dismissed.eq(false),
            dsl::removed.eq(false),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Records what calsync wrote to Google: etag, date and title, and the tracker revision the
/// date came from; the event is live and nothing is pending any more.
pub fn record_push(
    conn: &mut PgConnection,
    link_id: Uuid,
    etag: &str,
    date: NaiveDate,
    summary: &str,
    tracker_rev: i64,
) -> QueryResult<bool> {
    diesel::update(dsl::case_event_links.find(link_id))
        .set((
            dsl::etag.eq(etag),
            dsl::synced_date.eq(date),
            dsl::synced_summary.eq(summary),
            dsl::synced_tracker_rev.eq(tracker_rev),
            dsl::body_version.eq(crate::domain::EVENT_BODY_VERSION),
            dsl::dismissed.eq(false),
            dsl::removed.eq(false),
            dsl::pending_date.eq(None::<NaiveDate>),
            dsl::pending_summary.eq(None::<String>),
            dsl::pending_tracker_rev.eq(None::<i64>),
            dsl::pending_at.eq(None::<DateTime<Utc>>),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Records that calsync deleted the event (deadline cleared, case closed).
pub fn mark_removed(conn: &mut PgConnection, link_id: Uuid) -> QueryResult<bool> {
    diesel::update(dsl::case_event_links.find(link_id))
        .set((dsl::removed.eq(true), dsl::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Sets or clears the dismissed flag. Returns whether the link exists.
pub fn set_dismissed(conn: &mut PgConnection, link_id: Uuid, dismissed: bool) -> QueryResult<bool> {
    diesel::update(dsl::case_event_links.find(link_id))
        .set((
            dsl::dismissed.eq(dismissed),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Every link of a case.
pub fn list_for_case(conn: &mut PgConnection, case_id: CaseId) -> QueryResult<Vec<CaseEventLink>> {
    dsl::case_event_links
        .filter(dsl::case_id.eq(case_id))
        .order((dsl::deadline_kind.asc(), dsl::calendar_id.asc()))
        .select(CaseEventLink::as_select())
        .load(conn)
}

/// Cases of a user with an event still on `calendar_id` (not removed, not dismissed).
pub fn cases_on_calendar(
    conn: &mut PgConnection,
    user_id: UserId,
    calendar_id: &str,
) -> QueryResult<Vec<CaseId>> {
    dsl::case_event_links
        .filter(dsl::user_id.eq(user_id))
        .filter(dsl::calendar_id.eq(calendar_id))
        .filter(dsl::removed.eq(false))
        .filter(dsl::dismissed.eq(false))
        .select(dsl::case_id)
        .distinct()
        .load(conn)
}

/// Deletes a link. Returns whether it existed.
pub fn delete(conn: &mut PgConnection, link_id: Uuid) -> QueryResult<bool> {
    diesel::delete(dsl::case_event_links.find(link_id))
        .execute(conn)
        .map(|n| n == 1)
}

/// Deletes a user's links on `calendar_id` (the calendar is gone, or the user disconnected),
/// so the next push starts that calendar afresh. Returns how many went.
pub fn delete_on_calendar(
    conn: &mut PgConnection,
    user_id: UserId,
    calendar_id: &str,
) -> QueryResult<usize> {
    diesel::delete(
        dsl::case_event_links
            .filter(dsl::user_id.eq(user_id))
            .filter(dsl::calendar_id.eq(calendar_id)),
    )
    .execute(conn)
}

/// A user's live links on `calendar_id` (events calsync put there that are still there).
pub fn live_on_calendar(
    conn: &mut PgConnection,
    user_id: UserId,
    calendar_id: &str,
) -> QueryResult<Vec<CaseEventLink>> {
    dsl::case_event_links
        .filter(dsl::user_id.eq(user_id))
        .filter(dsl::calendar_id.eq(calendar_id))
        .filter(dsl::removed.eq(false))
        .filter(dsl::dismissed.eq(false))
        .select(CaseEventLink::as_select())
        .load(conn)
}
