//! Case/event links: the rows the two sync directions share.

use calsync::db::models::case_event_link::{self as links, NewCaseEventLink};
use calsync::db::schema::cases;
use calsync::domain::DeadlineKind;
use chrono::NaiveDate;
use diesel::prelude::*;

use crate::helpers::builders::{insert_case, insert_user};
use crate::helpers::test_db::TestDb;

#[test]
fn link_lifecycle() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let case = insert_case(&mut conn, user);
    let new = NewCaseEventLink {
        case_id: case,
        user_id: user,
        deadline_kind: DeadlineKind::FilingWindowCloses.column(),
        calendar_id: "primary",
        google_event_id: "calsync0abc",
        generation: 0,
        etag: None,
        synced_date: None,
    };
    let link = links::insert(&mut conn, &new).unwrap();
    assert_eq!(link.kind().unwrap(), DeadlineKind::FilingWindowCloses);
    assert!(
        links::insert(&mut conn, &new).is_err(),
        "one link per deadline and calendar"
    );

    let date = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    assert!(links::record_sync(&mut conn, link.id, "\"123\"", date, 0).unwrap());
    let found = links::find_by_event(&mut conn, user, "primary", "calsync0abc")
        .unwrap()
        .unwrap();
    assert_eq!(found.etag.as_deref(), Some("\"123\""));
    assert_eq!(found.synced_date, Some(date));
    let by_deadline =
        links::find_for_deadline(&mut conn, case, DeadlineKind::FilingWindowCloses, "primary")
            .unwrap()
            .unwrap();
    assert_eq!(by_deadline.id, link.id);

    // A link must name the case's owner, and an unknown kind is refused.
    let stranger = insert_user(&mut conn);
    assert!(
        links::insert(
            &mut conn,
            &NewCaseEventLink {
                user_id: stranger,
                deadline_kind: "rfi_due_date",
                ..new.clone()
            }
        )
        .is_err()
    );
    assert!(
        links::insert(
            &mut conn,
            &NewCaseEventLink {
                deadline_kind: "closed_at",
                ..new.clone()
            }
        )
        .is_err()
    );

    diesel::delete(cases::table.find(case))
        .execute(&mut conn)
        .unwrap();
    assert!(
        links::find_by_event(&mut conn, user, "primary", "calsync0abc")
            .unwrap()
            .is_none()
    );
}
