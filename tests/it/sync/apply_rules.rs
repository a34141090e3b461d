//! The inbound apply rules against a real database (events built by hand; the end-to-end
//! path through Google's emulator is tested elsewhere).

use calsync::db::models::case_event_link::{self as links, NewCaseEventLink};
use calsync::db::models::sync_audit;
use calsync::db::schema::{case_deadline_revisions, cases};
use calsync::domain::{DeadlineKind, EventMarker};
use calsync::google::{Event, EventDateTime, ExtendedProperties};
use calsync::inbound::apply_events;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::helpers::builders::{insert_case, insert_user};
use crate::helpers::dates::day;
use crate::helpers::test_db::TestDb;
use calsync::ids::{CaseId, UserId};

const KIND: DeadlineKind = DeadlineKind::RfeDue;

struct Fixture {
    _db: TestDb,
    conn: PgConnection,
    user: UserId,
    case: CaseId,
    event_id: String,
}

fn fixture() -> Fixture {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let case = insert_case(&mut conn, user);
    diesel::update(cases::table.find(case))
        .set(cases::rfe_due_date.eq(day(3, 1)))
        .execute(&mut conn)
        .unwrap();
    // Make the tracker's last change clearly older than the Google edits below.
    diesel::update(case_deadline_revisions::table)
        .set(case_deadline_revisions::changed_at.eq(Utc::now() - Duration::hours(2)))
        .execute(&mut conn)
        .unwrap();
    let event_id = EventMarker {
        case_id: case,
        kind: KIND,
    }
    .event_id(0);
    links::insert(
        &mut conn,
        &NewCaseEventLink {
            case_id: case,
            user_id: user,
            deadline_kind: KIND.column(),
            calendar_id: "primary",
            google_event_id: &event_id,
            generation: 0,
            etag: Some("\"1\""),
            synced_date: Some(day(3, 1)),
        },
    )
    .unwrap();
    Fixture {
        _db: db,
        conn,
        user,
        case,
        event_id,
    }
}

fn moved(f: &Fixture, etag: &str, date: NaiveDate, updated: DateTime<Utc>) -> Event {
    Event {
        id: Some(f.event_id.clone()),
        etag: Some(etag.into()),
        status: Some("confirmed".into()),
        start: Some(EventDateTime::all_day(date)),
        end: Some(EventDateTime::all_day(date.succ_opt().unwrap())),
        updated: Some(updated),
        extended_properties: Some(ExtendedProperties {
            private: Some(
                EventMarker {
                    case_id: f.case,
                    kind: KIND,
                }
                .to_properties(),
            ),
            shared: None,
        }),
        ..Event::default()
    }
}

fn deadline(f: &mut Fixture) -> Option<NaiveDate> {
    cases::table
        .find(f.case)
        .select(cases::rfe_due_date)
        .first(&mut f.conn)
        .unwrap()
}

#[test]
fn a_date_moved_in_google_is_applied_once_and_audited() {
    let mut f = fixture();
    let event = moved(&f, "\"2\"", day(3, 9), Utc::now());

    let stats = apply_events(&mut f.conn, f.user, "primary", std::slice::from_ref(&event)).unwrap();
    assert_eq!(stats.applied, 1);
    assert_eq!(deadline(&mut f), Some(day(3, 9)));
    let synced: Option<DateTime<Utc>> = cases::table
        .find(f.case)
        .select(cases::calendar_last_synced_at)
        .first(&mut f.conn)
        .unwrap();
    assert!(synced.is_some());
    let audit = sync_audit::list_for_case(&mut f.conn, f.case).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (
            audit[0].field.as_str(),
            audit[0].old_value,
            audit[0].new_value
        ),
        ("rfe_due_date", Some(day(3, 1)), Some(day(3, 9)))
    );
    assert_eq!(
        (audit[0].outcome.as_str(), audit[0].google_etag.as_deref()),
        ("applied", Some("\"2\""))
    );
    let link = links::find_by_event(&mut f.conn, f.user, "primary", &f.event_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        (link.etag.as_deref(), link.synced_date),
        (Some("\"2\""), Some(day(3, 9)))
    );

    // The same page again (at-least-once delivery) changes nothing.
    let again = apply_events(&mut f.conn, f.user, "primary", &[event]).unwrap();
    assert_eq!((again.applied, again.echoes), (0, 1));
    assert_eq!(
        sync_audit::list_for_case(&mut f.conn, f.case)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn our_own_echo_changes_nothing() {
    let mut f = fixture();
    // Google reports the version calsync wrote (etag "1"), whatever its date says.
    let event = moved(&f, "\"1\"", day(3, 20), Utc::now());
    let stats = apply_events(&mut f.conn, f.user, "primary", &[event]).unwrap();
    assert_eq!(stats.echoes, 1);
    assert_eq!(deadline(&mut f), Some(day(3, 1)));
    assert!(
        sync_audit::list_for_case(&mut f.conn, f.case)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_later_tracker_change_wins_and_the_loser_is_audited() {
    let mut f = fixture();
    let google_edit_at = Utc::now() - Duration::minutes(5);
    // The paralegal changes the deadline after the user's edit in Google.
    diesel::update(cases::table.find(f.case))
        .set(cases::rfe_due_date.eq(day(3, 15)))
        .execute(&mut f.conn)
        .unwrap();

    let event = moved(&f, "\"2\"", day(3, 9), google_edit_at);
    let stats = apply_events(&mut f.conn, f.user, "primary", &[event]).unwrap();
    assert_eq!(stats.rejected, 1);
    assert_eq!(deadline(&mut f), Some(day(3, 15)));
    let audit = sync_audit::list_for_case(&mut f.conn, f.case).unwrap();
    assert_eq!(
        (
            audit[0].outcome.as_str(),
            audit[0].old_value,
            audit[0].new_value
        ),
        ("rejected", Some(day(3, 15)), Some(day(3, 9)))
    );
}

#[test]
fn deleted_in_google_keeps_the_deadline_and_dismisses_the_link() {
    let mut f = fixture();
    let tombstone = Event {
        id: Some(f.event_id.clone()),
        etag: Some("\"3\"".into()),
        status: Some("cancelled".into()),
        ..Event::default()
    };
    let stats = apply_events(&mut f.conn, f.user, "primary", &[tombstone]).unwrap();
    assert_eq!(stats.dismissed, 1);
    assert_eq!(deadline(&mut f), Some(day(3, 1)));
    let link = links::find_by_event(&mut f.conn, f.user, "primary", &f.event_id)
        .unwrap()
        .unwrap();
    assert!(link.dismissed);
}

#[test]
fn events_calsync_did_not_create_are_ignored() {
    let mut f = fixture();
    let mut foreign = moved(&f, "\"7\"", day(3, 3), Utc::now());
    foreign.id = Some("someoneelsesevent".into());
    foreign.extended_properties = None;
    // A copy carrying our marker but linked to nothing is not ours either.
    let mut copy = moved(&f, "\"8\"", day(3, 4), Utc::now());
    copy.id = Some("copiedevent01".into());
    let stats = apply_events(&mut f.conn, f.user, "primary", &[foreign, copy]).unwrap();
    assert_eq!(stats.ignored, 2);
    assert_eq!(deadline(&mut f), Some(day(3, 1)));
}

#[test]
fn closed_cases_take_no_changes() {
    let mut f = fixture();
    diesel::update(cases::table.find(f.case))
        .set(cases::closed_at.eq(Some(Utc::now())))
        .execute(&mut f.conn)
        .unwrap();
    let event = moved(&f, "\"2\"", day(3, 9), Utc::now() + Duration::minutes(1));
    let stats = apply_events(&mut f.conn, f.user, "primary", &[event]).unwrap();
    assert_eq!(stats.ignored, 1);
    assert_eq!(deadline(&mut f), Some(day(3, 1)));
}

#[test]
fn any_writer_of_a_deadline_stamps_its_revision_even_through_row_level_security() {
    let mut f = fixture();
    f.conn
        .batch_execute(&format!(
            "GRANT SELECT, UPDATE ON cases TO authenticated;
             SET ROLE authenticated;
             SELECT set_config('request.jwt.claims', '{{\"sub\":\"{}\"}}', false);
             UPDATE cases SET i140_filing_deadline = '2027-06-01' WHERE id = '{}';
             RESET ROLE;",
            f.user, f.case
        ))
        .unwrap();
    let kinds: Vec<String> = case_deadline_revisions::table
        .filter(case_deadline_revisions::case_id.eq(f.case))
        .select(case_deadline_revisions::deadline_kind)
        .order(case_deadline_revisions::deadline_kind)
        .load(&mut f.conn)
        .unwrap();
    assert_eq!(kinds, ["i140_filing_deadline", "rfe_due_date"]);
}

#[test]
fn an_edit_in_google_that_leaves_the_date_alone_does_not_undo_a_newer_tracker_date() {
    let mut f = fixture();
    // The tracker moves the deadline; before the push reaches Google, the user retitles the
    // event there (later than the tracker's change), leaving the date calsync last synced.
    diesel::update(cases::table.find(f.case))
        .set(cases::rfe_due_date.eq(day(3, 15)))
        .execute(&mut f.conn)
        .unwrap();
    let mut retitled = moved(&f, "\"5\"", day(3, 1), Utc::now() + Duration::seconds(5));
    retitled.summary = Some("RFE due (call the client first)".into());

    let event = retitled;
    let stats = apply_events(&mut f.conn, f.user, "primary", &[event]).unwrap();
    assert_eq!((stats.applied, stats.rejected), (0, 0), "{stats:?}");
    assert_eq!(
        deadline(&mut f),
        Some(day(3, 15)),
        "the tracker's newer date stands"
    );
    assert!(
        sync_audit::list_for_case(&mut f.conn, f.case)
            .unwrap()
            .is_empty()
    );
    let link = links::find_by_event(&mut f.conn, f.user, "primary", &f.event_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        link.etag.as_deref(),
        Some("\"5\""),
        "the push patches against the version seen"
    );
    assert_eq!(
        link.synced_date,
        Some(day(3, 1)),
        "Google still shows the old date"
    );
}
