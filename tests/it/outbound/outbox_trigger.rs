//! Every write to a case that matters to its events leaves an outbox row, whoever writes.

use calsync::db::models::case_event_link::{self as links, NewCaseEventLink};
use calsync::db::schema::{calendar_outbox, cases};
use chrono::{NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::helpers::builders::{insert_case, insert_user};
use crate::helpers::test_db::TestDb;
use calsync::ids::{CaseId, UserId};

fn outbox(conn: &mut PgConnection, case: CaseId) -> Vec<(UserId, Option<serde_json::Value>)> {
    calendar_outbox::table
        .filter(calendar_outbox::case_id.eq(case))
        .order(calendar_outbox::id)
        .select((calendar_outbox::user_id, calendar_outbox::deleted_events))
        .load(conn)
        .unwrap()
}

#[test]
fn deadline_title_and_closing_changes_are_captured_and_nothing_else() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let case = insert_case(&mut conn, user);
    assert_eq!(outbox(&mut conn, case).len(), 1, "a new case");

    let date = NaiveDate::from_ymd_opt(2027, 2, 1).unwrap();
    diesel::update(cases::table.find(case))
        .set(cases::rfi_due_date.eq(date))
        .execute(&mut conn)
        .unwrap();
    diesel::update(cases::table.find(case))
        .set(cases::employer_name.eq("Renamed Inc"))
        .execute(&mut conn)
        .unwrap();
    diesel::update(cases::table.find(case))
        .set(cases::closed_at.eq(Some(Utc::now())))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(outbox(&mut conn, case).len(), 4);

    // What the sync itself stamps, and unrelated columns, do not churn the outbox.
    diesel::update(cases::table.find(case))
        .set((
            cases::calendar_last_synced_at.eq(Some(Utc::now())),
            cases::status.eq("archived"),
        ))
        .execute(&mut conn)
        .unwrap();
    diesel::update(cases::table.find(case))
        .set(cases::rfi_due_date.eq(date))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(outbox(&mut conn, case).len(), 4);
}

#[test]
fn a_psql_session_and_a_tracker_user_are_captured_too() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let case = insert_case(&mut conn, user);
    conn.batch_execute(&format!(
        "GRANT SELECT, UPDATE ON cases TO authenticated;
         SET ROLE authenticated;
         SELECT set_config('request.jwt.claims', '{{\"sub\":\"{user}\"}}', false);
         UPDATE cases SET rfe_due_date = '2027-04-01' WHERE id = '{case}';
         RESET ROLE;
         UPDATE cases SET rfe_due_date = '2027-04-02' WHERE id = '{case}';"
    ))
    .unwrap();
    assert_eq!(outbox(&mut conn, case).len(), 3);
}

#[test]
fn a_hard_deleted_case_keeps_the_events_to_remove() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let case = insert_case(&mut conn, user);
    for (kind, event, dismissed) in [
        ("rfi_due_date", "liveevent1", false),
        ("rfe_due_date", "dismissed1", true),
    ] {
        let link = links::insert(
            &mut conn,
            &NewCaseEventLink {
                case_id: case,
                user_id: user,
                deadline_kind: kind,
                calendar_id: "primary",
                google_event_id: event,
                generation: 0,
                etag: Some("\"1\""),
                synced_date: None,
            },
        )
        .unwrap();
        links::set_dismissed(&mut conn, link.id, dismissed).unwrap();
    }
    diesel::delete(cases::table.find(case))
        .execute(&mut conn)
        .unwrap();
    let rows = outbox(&mut conn, case);
    let (owner, deleted) = rows.last().unwrap();
    assert_eq!(*owner, user);
    assert_eq!(
        deleted.clone().unwrap(),
        serde_json::json!([{"calendar_id": "primary", "event_id": "liveevent1"}])
    );
}
