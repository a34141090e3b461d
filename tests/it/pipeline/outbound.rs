//! The outbound sync through the whole pipeline: SQL writes to `cases` → trigger → outbox →
//! sweep → Redis → push worker → the Google emulator, asserted on the emulator's events and
//! requests, the link rows, the outbox and the audit table.

mod conflicts;
mod failures;
mod lifecycle;

use std::time::Duration;

use calsync::db::models::case_event_link::{self as links, CaseEventLink};
use calsync::db::schema::{calendar_outbox, calendar_sync_audit, cases};
use calsync::domain::{DeadlineKind, EventMarker};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Date, Nullable, Uuid as SqlUuid};
use gcal_emulator::RecordedRequest;
use serde_json::Value;

pub use crate::helpers::dates::day;
use crate::helpers::pipeline::Pipeline;
use crate::helpers::test_redis::eventually;
use calsync::ids::{CaseId, UserId};

/// How long a push may take to show; generous, the suite shares two busy cores.
/// How long a test waits for the outbox to drain: generous, the suite shares two cores (a
/// wait ends as soon as its condition holds).
pub const SETTLE: Duration = Duration::from_secs(60);

pub const EMPLOYER: &str = "Acme Robotics";

/// Inserts an open case of `user` with these deadlines, by plain SQL; returns its id.
pub fn insert_case_with(
    conn: &mut PgConnection,
    user: UserId,
    beneficiary: &str,
    deadlines: &[(DeadlineKind, NaiveDate)],
) -> CaseId {
    let case: CaseId = diesel::insert_into(cases::table)
        .values((
            cases::user_id.eq(user),
            cases::employer_name.eq(EMPLOYER),
            cases::beneficiary_name.eq(beneficiary),
        ))
        .returning(cases::id)
        .get_result(conn)
        .unwrap();
    for (kind, date) in deadlines {
        set_deadline(conn, case, *kind, Some(*date));
    }
    case
}

/// `UPDATE cases SET <kind> = date`, as any writer would.
pub fn set_deadline(
    conn: &mut PgConnection,
    case: CaseId,
    kind: DeadlineKind,
    date: Option<NaiveDate>,
) {
    diesel::sql_query(format!(
        "UPDATE cases SET {} = $1 WHERE id = $2",
        kind.column()
    ))
    .bind::<Nullable<Date>, _>(date)
    .bind::<SqlUuid, _>(case)
    .execute(conn)
    .unwrap();
}

/// The case's current value of a deadline.
pub fn deadline(conn: &mut PgConnection, case: CaseId, kind: DeadlineKind) -> Option<NaiveDate> {
    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = Nullable<Date>)]
        value: Option<NaiveDate>,
    }
    diesel::sql_query(format!(
        "SELECT {} AS value FROM cases WHERE id = $1",
        kind.column()
    ))
    .bind::<SqlUuid, _>(case)
    .get_result::<Value>(conn)
    .unwrap()
    .value
}

pub fn outbox_len(conn: &mut PgConnection) -> i64 {
    calendar_outbox::table.count().get_result(conn).unwrap()
}

pub fn link(conn: &mut PgConnection, case: CaseId, kind: DeadlineKind) -> CaseEventLink {
    links::list_for_case(conn, case)
        .unwrap()
        .into_iter()
        .find(|l| l.deadline_kind == kind.column())
        .unwrap_or_else(|| panic!("no link for {kind} of case {case}"))
}

/// (field, old, new, outcome) of every audit row of a case, oldest first.
pub fn audit(
    conn: &mut PgConnection,
    case: CaseId,
) -> Vec<(String, Option<NaiveDate>, Option<NaiveDate>, String)> {
    calendar_sync_audit::table
        .filter(calendar_sync_audit::case_id.eq(case))
        .order(calendar_sync_audit::id)
        .select((
            calendar_sync_audit::field,
            calendar_sync_audit::old_value,
            calendar_sync_audit::new_value,
            calendar_sync_audit::outcome,
        ))
        .load(conn)
        .unwrap()
}

pub fn is_live(event: &Value) -> bool {
    event["status"].as_str() != Some("cancelled")
}

pub fn marker_of(event: &Value) -> Option<(String, String)> {
    let private = &event["extendedProperties"]["private"];
    Some((
        private["calsync_case_id"].as_str()?.to_owned(),
        private["calsync_deadline_kind"].as_str()?.to_owned(),
    ))
}

/// The live events on the calendar carrying `case`'s marker.
pub fn live_events_of(p: &Pipeline, case: CaseId) -> Vec<Value> {
    p.w.emu
        .events(p.w.calendar())
        .into_iter()
        .filter(is_live)
        .filter(|e| marker_of(e).is_some_and(|(c, _)| c == case.to_string()))
        .collect()
}

pub fn live_event_count(p: &Pipeline) -> usize {
    p.w.emu
        .events(p.w.calendar())
        .into_iter()
        .filter(is_live)
        .count()
}

/// The live event of one deadline, if any.
pub fn event_of(p: &Pipeline, case: CaseId, kind: DeadlineKind) -> Option<Value> {
    live_events_of(p, case)
        .into_iter()
        .find(|e| marker_of(e).is_some_and(|(_, k)| k == kind.column()))
}

pub fn event_date(event: &Value) -> Option<NaiveDate> {
    event["start"]["date"].as_str()?.parse().ok()
}

/// Asserts the event is what requirement 2 describes: all-day on `date` (end the next day,
/// no dateTime or timeZone), titled with the deadline and the case, marked privately with
/// the case and kind, with the deterministic id of `generation`.
pub fn assert_deadline_event(
    event: &Value,
    case: CaseId,
    kind: DeadlineKind,
    date: NaiveDate,
    beneficiary: &str,
    generation: u32,
) {
    let start = event["start"].as_object().unwrap();
    let end = event["end"].as_object().unwrap();
    assert_eq!(
        start.get("date"),
        Some(&Value::from(date.to_string())),
        "{event}"
    );
    let next = date.succ_opt().unwrap().to_string();
    assert_eq!(end.get("date"), Some(&Value::from(next)), "{event}");
    for part in [start, end] {
        assert!(
            !part.contains_key("dateTime") && !part.contains_key("timeZone"),
            "an all-day event has no time or zone: {event}"
        );
    }
    assert_eq!(
        event["summary"].as_str(),
        Some(format!("{}: {EMPLOYER} / {beneficiary}", kind.label()).as_str())
    );
    assert_eq!(
        marker_of(event),
        Some((case.to_string(), kind.column().to_owned()))
    );
    assert!(event["extendedProperties"]["shared"].is_null(), "{event}");
    assert_eq!(
        event["id"].as_str(),
        Some(
            EventMarker {
                case_id: case,
                kind
            }
            .event_id(generation)
            .as_str()
        )
    );
}

/// Requests to the calendar's events with this method, in order.
pub fn event_requests(p: &Pipeline, method: &str) -> Vec<RecordedRequest> {
    p.w.emu
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.contains("/events"))
        .filter(|r| !r.path.ends_with("/watch"))
        .collect()
}

/// Requests that changed or tried to change an event (POST, PATCH, PUT, DELETE on events).
pub fn event_writes(p: &Pipeline) -> Vec<RecordedRequest> {
    p.w.emu
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/events") && !r.path.ends_with("/watch"))
        .filter(|r| r.method != "GET")
        .collect()
}

/// Waits until the outbox is empty and `check` holds.
pub async fn settle(p: &Pipeline, what: &str, check: impl Fn() -> bool) {
    let mut conn = p.w.db.conn();
    eventually(SETTLE, what, || {
        let done = outbox_len(&mut conn) == 0 && check();
        async move { done }
    })
    .await;
}
