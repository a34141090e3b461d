//! Deadlines reach Google and follow the case: created, moved, cleared, closed, deleted; many
//! at once; written while no worker runs; pushed when a calendar is first watched and removed
//! when its channel stops; and an insert whose answer was lost is adopted, not duplicated.

use std::collections::BTreeSet;
use std::time::Duration;

use calsync::channels::stop_channel;
use calsync::domain::{DeadlineKind, EventMarker};
use calsync::outbound::event_body::{new_event, summary};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use gcal_emulator::NotificationMode;

use super::*;
use crate::helpers::pipeline::{Pipeline, PipelineOptions};

use DeadlineKind::{FilingWindowCloses, I140FilingDeadline, RfiDue};

#[tokio::test]
async fn deadlines_are_created_moved_retitled_cleared_and_removed_with_their_case() {
    let p = Pipeline::start().await;
    p.watch().await;
    let mut conn = p.w.db.conn();
    let a = insert_case_with(
        &mut conn,
        p.w.user_id,
        "Ana Lima",
        &[(FilingWindowCloses, day(3, 1)), (RfiDue, day(3, 10))],
    );
    let b = insert_case_with(
        &mut conn,
        p.w.user_id,
        "Bo Chen",
        &[(I140FilingDeadline, day(4, 1))],
    );

    settle(&p, "three events", || live_event_count(&p) == 3).await;
    let closes = event_of(&p, a, FilingWindowCloses).unwrap();
    assert_deadline_event(&closes, a, FilingWindowCloses, day(3, 1), "Ana Lima", 0);
    assert_deadline_event(
        &event_of(&p, a, RfiDue).unwrap(),
        a,
        RfiDue,
        day(3, 10),
        "Ana Lima",
        0,
    );
    let i140 = event_of(&p, b, I140FilingDeadline).unwrap();
    assert_deadline_event(&i140, b, I140FilingDeadline, day(4, 1), "Bo Chen", 0);
    for (case, kind) in [
        (a, FilingWindowCloses),
        (a, RfiDue),
        (b, I140FilingDeadline),
    ] {
        let l = link(&mut conn, case, kind);
        let event = event_of(&p, case, kind).unwrap();
        assert_eq!(
            l.etag.as_deref(),
            event["etag"].as_str(),
            "the link keeps Google's etag"
        );
    }
    let inserts = event_requests(&p, "POST");
    assert_eq!(inserts.len(), 3, "one insert per deadline");
    assert!(inserts.iter().all(|r| r.status == 200));

    // A moved deadline is patched on the stored etag.
    let before = link(&mut conn, a, FilingWindowCloses);
    set_deadline(&mut conn, a, FilingWindowCloses, Some(day(3, 5)));
    settle(&p, "the move", || {
        event_of(&p, a, FilingWindowCloses).and_then(|e| event_date(&e)) == Some(day(3, 5))
    })
    .await;
    let patches = event_requests(&p, "PATCH");
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0].header("if-match"), before.etag.as_deref());
    assert_eq!(patches[0].status, 200);
    let moved = event_of(&p, a, FilingWindowCloses).unwrap();
    assert_deadline_event(&moved, a, FilingWindowCloses, day(3, 5), "Ana Lima", 0);
    let after = link(&mut conn, a, FilingWindowCloses);
    assert_eq!(after.etag.as_deref(), moved["etag"].as_str());
    assert_eq!(after.synced_date, Some(day(3, 5)));

    // A renamed case renames its events.
    diesel::update(cases::table.find(b))
        .set(cases::beneficiary_name.eq("Bo Chen-Park"))
        .execute(&mut conn)
        .unwrap();
    settle(&p, "the new title", || {
        event_of(&p, b, I140FilingDeadline)
            .is_some_and(|e| e["summary"].as_str().unwrap_or("").ends_with("Chen-Park"))
    })
    .await;
    assert_deadline_event(
        &event_of(&p, b, I140FilingDeadline).unwrap(),
        b,
        I140FilingDeadline,
        day(4, 1),
        "Bo Chen-Park",
        0,
    );

    // A cleared deadline's event goes; set again, it comes back under a new id (Google keeps
    // the deleted one).
    set_deadline(&mut conn, a, RfiDue, None);
    settle(&p, "the cleared deadline's event to go", || {
        event_of(&p, a, RfiDue).is_none()
    })
    .await;
    assert!(link(&mut conn, a, RfiDue).removed);
    set_deadline(&mut conn, a, RfiDue, Some(day(3, 20)));
    settle(&p, "the deadline's new event", || {
        event_of(&p, a, RfiDue).is_some()
    })
    .await;
    assert_deadline_event(
        &event_of(&p, a, RfiDue).unwrap(),
        a,
        RfiDue,
        day(3, 20),
        "Ana Lima",
        1,
    );

    // Closing a case removes its events; so does deleting one outright.
    diesel::sql_query("UPDATE cases SET closed_at = now() WHERE id = $1")
        .bind::<SqlUuid, _>(a)
        .execute(&mut conn)
        .unwrap();
    diesel::delete(cases::table.find(b))
        .execute(&mut conn)
        .unwrap();
    settle(&p, "every event to go", || live_event_count(&p) == 0).await;

    let deletes = event_requests(&p, "DELETE");
    assert_eq!(deletes.len(), 4, "{deletes:?}");
    assert!(deletes.iter().all(|r| r.status == 204), "{deletes:?}");
    let inserted: Vec<_> = event_requests(&p, "POST");
    assert_eq!(
        inserted.len(),
        4,
        "3 deadlines and one re-created: {inserted:?}"
    );
    assert!(
        inserted.iter().all(|r| r.status == 200),
        "no duplicate insert"
    );
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test]
async fn many_cases_written_at_once_get_exactly_one_event_per_deadline() {
    const CASES: usize = 40;
    let p = Pipeline::start().await;
    p.watch().await;
    let user = p.w.user_id;
    let mut conn = p.w.db.conn();
    // One transaction, as a bulk import in the tracker would write them.
    conn.batch_execute(&format!(
        "INSERT INTO cases (user_id, employer_name, beneficiary_name, pwd_expiration_date,
                            recruitment_start_date, filing_window_opens, filing_window_closes,
                            rfi_due_date)
         SELECT '{user}', '{EMPLOYER}', 'Beneficiary ' || n,
                date '2027-01-01' + n, date '2027-02-01' + n, date '2027-03-01' + n,
                date '2027-04-01' + n, date '2027-05-01' + n
         FROM generate_series(1, {CASES}) n"
    ))
    .unwrap();
    // And one more deadline set by a tracker user, through row level security.
    let tracked = insert_case_with(&mut conn, user, "Tracked User", &[]);
    conn.batch_execute(&format!(
        "GRANT SELECT, UPDATE ON cases TO authenticated;
         BEGIN;
         SET LOCAL ROLE authenticated;
         SELECT set_config('request.jwt.claims', '{{\"sub\":\"{user}\"}}', true);
         UPDATE cases SET rfe_due_date = '2027-08-01' WHERE id = '{tracked}';
         COMMIT;"
    ))
    .unwrap();

    let expected = CASES * 5 + 1;
    settle(&p, "every deadline's event", || {
        live_event_count(&p) == expected
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let events = p.w.emu.events(p.w.calendar());
    assert_eq!(events.len(), expected, "no extra event, no tombstone");
    let deadlines: BTreeSet<_> = events.iter().filter_map(marker_of).collect();
    assert_eq!(deadlines.len(), expected, "one event per deadline");
    let rfe = event_of(&p, tracked, DeadlineKind::RfeDue).unwrap();
    assert_deadline_event(
        &rfe,
        tracked,
        DeadlineKind::RfeDue,
        day(8, 1),
        "Tracked User",
        0,
    );
    let inserts = event_requests(&p, "POST");
    assert_eq!(inserts.len(), expected, "one insert per event");
    assert!(
        inserts.iter().all(|r| r.status == 200),
        "no insert answered 409 (two pushes raced on one case): {:?}",
        inserts
            .iter()
            .filter(|r| r.status != 200)
            .map(|r| (r.status, &r.body))
            .collect::<Vec<_>>()
    );
    assert!(
        event_writes(&p).len() == expected,
        "nothing but the inserts"
    );
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test]
async fn rows_written_while_no_worker_runs_are_pushed_once_workers_start() {
    let mut p = Pipeline::start_with(PipelineOptions {
        workers: false,
        ..PipelineOptions::default()
    })
    .await;
    p.watch().await;
    let mut conn = p.w.db.conn();
    let cases: Vec<_> = (0..3)
        .map(|i| {
            insert_case_with(
                &mut conn,
                p.w.user_id,
                &format!("Waiting {i}"),
                &[(RfiDue, day(9, i + 1))],
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        outbox_len(&mut conn) >= 3,
        "the rows are durable in PostgreSQL"
    );
    assert!(event_writes(&p).is_empty(), "nothing can push yet");

    p.start_workers();
    settle(&p, "the backlog to reach Google", || {
        live_event_count(&p) == 3
    })
    .await;
    for (i, case) in (1..).zip(&cases) {
        let event = event_of(&p, *case, RfiDue).unwrap();
        assert_deadline_event(
            &event,
            *case,
            RfiDue,
            day(9, i),
            &format!("Waiting {}", i - 1),
            0,
        );
    }
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test]
async fn watching_a_calendar_pushes_the_users_open_cases() {
    let p = Pipeline::start().await;
    let mut conn = p.w.db.conn();
    let open = insert_case_with(&mut conn, p.w.user_id, "Open Case", &[(RfiDue, day(10, 1))]);
    let closed = insert_case_with(
        &mut conn,
        p.w.user_id,
        "Closed Case",
        &[(RfiDue, day(10, 2))],
    );
    diesel::sql_query("UPDATE cases SET closed_at = now() WHERE id = $1")
        .bind::<SqlUuid, _>(closed)
        .execute(&mut conn)
        .unwrap();
    settle(&p, "rows without a calendar to be dropped", || true).await;
    assert!(event_writes(&p).is_empty());

    p.watch().await;
    settle(&p, "the open case's event", || live_event_count(&p) == 1).await;
    assert_deadline_event(
        &event_of(&p, open, RfiDue).unwrap(),
        open,
        RfiDue,
        day(10, 1),
        "Open Case",
        0,
    );
    assert!(live_events_of(&p, closed).is_empty());
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test]
async fn after_the_channel_stops_a_case_change_removes_the_cases_events() {
    let p = Pipeline::start().await;
    let channel = p.watch().await;
    let mut conn = p.w.db.conn();
    let case = insert_case_with(
        &mut conn,
        p.w.user_id,
        "Stopped",
        &[(RfiDue, day(12, 1)), (FilingWindowCloses, day(12, 2))],
    );
    settle(&p, "two events", || live_event_count(&p) == 2).await;
    assert!(stop_channel(&p.w.ctx, &channel).await.unwrap());

    // No calendar is watched: the change is not pushed, and the events that are left go.
    set_deadline(&mut conn, case, RfiDue, Some(day(12, 9)));
    settle(&p, "the events to go", || live_event_count(&p) == 0).await;
    p.until_idle().await;
    assert_eq!(event_requests(&p, "DELETE").len(), 2);
    assert_eq!(event_requests(&p, "POST").len(), 2, "nothing inserted");
    for kind in [RfiDue, FilingWindowCloses] {
        assert!(link(&mut conn, case, kind).removed);
    }
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test]
async fn stopping_the_channel_removes_the_calendars_deadline_events() {
    let p = Pipeline::start().await;
    let channel = p.watch().await;
    let mut conn = p.w.db.conn();
    let case = insert_case_with(
        &mut conn,
        p.w.user_id,
        "Stopped At Once",
        &[(RfiDue, day(12, 1)), (FilingWindowCloses, day(12, 2))],
    );
    settle(&p, "two events", || live_event_count(&p) == 2).await;

    assert!(stop_channel(&p.w.ctx, &channel).await.unwrap());
    settle(&p, "the events to go", || live_event_count(&p) == 0).await;
    assert_eq!(event_requests(&p, "DELETE").len(), 2);
    for kind in [RfiDue, FilingWindowCloses] {
        assert!(link(&mut conn, case, kind).removed);
    }
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test]
async fn an_insert_whose_answer_was_lost_is_adopted_not_duplicated() {
    let mut p = Pipeline::start_with(PipelineOptions {
        workers: false,
        ..PipelineOptions::default()
    })
    .await;
    p.watch().await;
    // Only the push is under test: the inbound sync does not hear of these events.
    p.w.emu.set_notification_mode(NotificationMode::Drop);
    let mut conn = p.w.db.conn();
    let case = insert_case_with(
        &mut conn,
        p.w.user_id,
        "Lost Answer",
        &[(RfiDue, day(11, 1)), (FilingWindowCloses, day(11, 15))],
    );
    let row = calsync::db::models::case::find(&mut conn, case)
        .unwrap()
        .unwrap();
    // An earlier push inserted both events at Google but never heard back: the links have
    // no etag.
    for (kind, date_at_google) in [(RfiDue, day(11, 1)), (FilingWindowCloses, day(11, 15))] {
        let marker = EventMarker {
            case_id: case,
            kind,
        };
        let id = marker.event_id(0);
        let body = new_event(
            &Default::default(),
            marker,
            &id,
            date_at_google,
            &summary(kind, &row),
        );
        p.w.emu
            .user_create_event_json(p.w.calendar(), serde_json::to_value(&body).unwrap())
            .unwrap();
        links::insert(
            &mut conn,
            &links::NewCaseEventLink {
                case_id: case,
                user_id: p.w.user_id,
                deadline_kind: kind.column(),
                calendar_id: p.w.calendar(),
                google_event_id: &id,
                generation: 0,
                etag: None,
                synced_date: None,
            },
        )
        .unwrap();
    }
    // Then the filing window moved in the tracker.
    set_deadline(&mut conn, case, FilingWindowCloses, Some(day(11, 20)));
    p.w.emu.clear_records();

    p.start_workers();
    settle(&p, "the adopted events", || {
        event_of(&p, case, FilingWindowCloses).and_then(|e| event_date(&e)) == Some(day(11, 20))
            && link(&mut p.w.db.conn(), case, RfiDue).etag.is_some()
    })
    .await;
    assert_eq!(p.w.emu.events(p.w.calendar()).len(), 2, "no duplicate");
    for (kind, date) in [(RfiDue, day(11, 1)), (FilingWindowCloses, day(11, 20))] {
        let event = event_of(&p, case, kind).unwrap();
        assert_deadline_event(&event, case, kind, date, "Lost Answer", 0);
        let l = link(&mut conn, case, kind);
        assert_eq!(l.etag.as_deref(), event["etag"].as_str());
        assert_eq!(l.synced_date, Some(date));
    }
    let inserts = event_requests(&p, "POST");
    assert_eq!(inserts.len(), 2, "each insert retried once: {inserts:?}");
    assert!(
        inserts.iter().all(|r| r.status == 409),
        "Google already had them"
    );
    let patches = event_requests(&p, "PATCH");
    assert_eq!(
        patches.len(),
        1,
        "only the stale date is corrected: {patches:?}"
    );
    assert!(
        patches[0].body.contains("2027-11-20"),
        "{}",
        patches[0].body
    );
    assert!(patches[0].header("if-match").is_some());
    p.until_idle().await;
    p.stop().await;
}
