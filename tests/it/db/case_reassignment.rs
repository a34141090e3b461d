//! The tracker reassigns a case that already has events on its owner's calendar (another
//! attorney takes it over): the update goes through, the previous owner's push removes the
//! events from their calendar, and the new owner's push writes new ones on theirs.

use std::time::Duration;

use calsync::db::models::case_event_link::{self as links, NewCaseEventLink};
use calsync::db::models::outbox::{self, OrphanedEvent};
use calsync::db::schema::cases;
use calsync::domain::DeadlineKind;
use diesel::prelude::*;

use crate::helpers::builders::{insert_case, insert_user};
use crate::helpers::test_db::TestDb;

#[test]
fn reassigning_a_case_with_events_moves_it_to_the_new_owners_calendar() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (a, b) = (insert_user(&mut conn), insert_user(&mut conn));
    let case = insert_case(&mut conn, a);
    links::insert(
        &mut conn,
        &NewCaseEventLink {
            case_id: case,
            user_id: a,
            deadline_kind: DeadlineKind::RfeDue.column(),
            calendar_id: "a-calendar",
            google_event_id: "eventofa",
            generation: 0,
            etag: Some("\"1\""),
            synced_date: None,
        },
    )
    .unwrap();
    while let Some(pending) = outbox::claim_next_case(&mut conn, a, Duration::ZERO).unwrap() {
        outbox::complete(&mut conn, a, pending.case_id, pending.last_id).unwrap();
    }

    diesel::update(cases::table.find(case))
        .set(cases::user_id.eq(b))
        .execute(&mut conn)
        .expect("a case with events can be reassigned");

    assert!(
        links::list_for_case(&mut conn, case).unwrap().is_empty(),
        "the previous owner's links go: the new owner's push writes new events"
    );
    let for_a = outbox::claim_next_case(&mut conn, a, Duration::ZERO)
        .unwrap()
        .expect("the previous owner has a push to make");
    assert_eq!(for_a.case_id, case);
    assert_eq!(
        for_a.orphaned_events(),
        vec![OrphanedEvent {
            calendar_id: "a-calendar".into(),
            event_id: "eventofa".into(),
        }]
    );
    let for_b = outbox::claim_next_case(&mut conn, b, Duration::ZERO)
        .unwrap()
        .expect("the new owner has a push to make");
    assert_eq!(for_b.case_id, case);
    assert!(for_b.orphaned_events().is_empty());
}
