//! Both sides at once: a 412 race decided by the conflict rule (both ways, audited), an event
//! the user dismissed, the echo of calsync's own writes, and a round trip that converges.

use std::time::Duration;

use calsync::domain::DeadlineKind;
use diesel::prelude::*;
use gcal_emulator::{EventTime, NotificationMode};

use super::*;
use crate::helpers::pipeline::Pipeline;
use calsync::ids::CaseId;

use DeadlineKind::{RfeDue, RfiDue};

/// A watched calendar with one case whose RFI deadline is on it (day(5, 1)).
async fn one_synced_deadline(beneficiary: &str) -> (Pipeline, CaseId) {
    let p = Pipeline::start().await;
    p.watch().await;
    let case = insert_case_with(
        &mut p.w.db.conn(),
        p.w.user_id,
        beneficiary,
        &[(RfiDue, day(5, 1))],
    );
    settle(&p, "the event", || event_of(&p, case, RfiDue).is_some()).await;
    inbound_caught_up(&p).await;
    (p, case)
}

fn user_moves(p: &Pipeline, case: CaseId, date: chrono::NaiveDate) -> String {
    let id = link(&mut p.w.db.conn(), case, RfiDue).google_event_id;
    let moved =
        p.w.emu
            .user_move_event(
                p.w.calendar(),
                &id,
                &EventTime::Date(date),
                &EventTime::Date(date.succ_opt().unwrap()),
            )
            .unwrap();
    moved["etag"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_412_race_with_a_later_tracker_change_keeps_the_trackers_date() {
    let (p, case) = one_synced_deadline("Race Tracker").await;
    let mut conn = p.w.db.conn();
    let stale = link(&mut conn, case, RfiDue).etag.unwrap();
    // Google's notification is lost, so the push meets the user's edit as a 412.
    p.w.emu.set_notification_mode(NotificationMode::Drop);
    let google_etag = user_moves(&p, case, day(5, 8));
    tokio::time::sleep(Duration::from_millis(50)).await;
    set_deadline(&mut conn, case, RfiDue, Some(day(5, 15)));

    settle(&p, "the tracker's date in Google", || {
        event_of(&p, case, RfiDue).and_then(|e| event_date(&e)) == Some(day(5, 15))
    })
    .await;
    p.until_idle().await;
    let patches = event_requests(&p, "PATCH");
    let seen: Vec<_> = patches
        .iter()
        .map(|r| (r.status, r.header("if-match").unwrap_or("").to_owned()))
        .collect();
    assert_eq!(
        seen,
        vec![(412, stale), (200, google_etag)],
        "retried on the fresh etag"
    );
    assert_eq!(deadline(&mut conn, case, RfiDue), Some(day(5, 15)));
    assert_eq!(
        audit(&mut conn, case),
        vec![(
            "rfi_due_date".into(),
            Some(day(5, 15)),
            Some(day(5, 8)),
            "rejected".into()
        )],
        "Google's losing version is audited"
    );
    let event = event_of(&p, case, RfiDue).unwrap();
    assert_eq!(
        link(&mut conn, case, RfiDue).etag.as_deref(),
        event["etag"].as_str()
    );
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test]
async fn a_412_race_with_a_later_google_edit_takes_googles_date_without_ping_pong() {
    let (mut p, case) = one_synced_deadline("Race Google").await;
    let mut conn = p.w.db.conn();
    p.w.emu.set_notification_mode(NotificationMode::Drop);
    // The tracker changes first while no worker runs; the user edits in Google later.
    p.stop_workers().await;
    set_deadline(&mut conn, case, RfiDue, Some(day(5, 15)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    user_moves(&p, case, day(5, 8));
    p.w.emu.clear_records();
    p.start_workers();

    settle(&p, "Google's date in the case", || {
        deadline(&mut p.w.db.conn(), case, RfiDue) == Some(day(5, 8))
    })
    .await;
    p.until_idle().await;
    let writes: Vec<_> = event_writes(&p)
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        writes,
        vec![("PATCH".to_owned(), 412)],
        "the tracker's older date is never written over Google's"
    );
    let event = event_of(&p, case, RfiDue).unwrap();
    assert_eq!(event_date(&event), Some(day(5, 8)));
    let l = link(&mut conn, case, RfiDue);
    assert_eq!(l.etag.as_deref(), event["etag"].as_str());
    assert_eq!(l.synced_date, Some(day(5, 8)));
    assert_eq!(
        audit(&mut conn, case),
        vec![(
            "rfi_due_date".into(),
            Some(day(5, 15)),
            Some(day(5, 8)),
            "applied".into()
        )]
    );
    assert_eq!(outbox_len(&mut conn), 0);
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test]
async fn a_dismissed_event_stays_dismissed_until_its_date_changes() {
    let p = Pipeline::start().await;
    p.watch().await;
    let mut conn = p.w.db.conn();
    let case = insert_case_with(
        &mut conn,
        p.w.user_id,
        "Dismissed",
        &[(RfiDue, day(6, 1)), (RfeDue, day(6, 2))],
    );
    settle(&p, "two events", || live_events_of(&p, case).len() == 2).await;

    // Deleted in Google; the inbound sync hears of it.
    let rfi = link(&mut conn, case, RfiDue).google_event_id;
    p.w.emu.user_delete_event(p.w.calendar(), &rfi).unwrap();
    eventually(SETTLE, "the dismissal", || {
        let dismissed = link(&mut p.w.db.conn(), case, RfiDue).dismissed;
        async move { dismissed }
    })
    .await;
    // Deleted in Google while its notification is lost: the push finds out by itself.
    p.w.emu.set_notification_mode(NotificationMode::Drop);
    let rfe = link(&mut conn, case, RfeDue).google_event_id;
    p.w.emu.user_delete_event(p.w.calendar(), &rfe).unwrap();

    // A change that is not the date (the title) does not bring either back.
    diesel::update(cases::table.find(case))
        .set(cases::beneficiary_name.eq("Dismissed Renamed"))
        .execute(&mut conn)
        .unwrap();
    settle(&p, "the rename to be pushed", || {
        link(&mut p.w.db.conn(), case, RfeDue).dismissed
    })
    .await;
    p.until_idle().await;
    assert_eq!(live_event_count(&p), 0);
    assert_eq!(event_requests(&p, "POST").len(), 2, "nothing re-created");
    assert!(link(&mut conn, case, RfiDue).dismissed);

    // A new date brings it back, under the next generation's id.
    set_deadline(&mut conn, case, RfiDue, Some(day(6, 9)));
    settle(&p, "the new event", || event_of(&p, case, RfiDue).is_some()).await;
    let back = event_of(&p, case, RfiDue).unwrap();
    assert_deadline_event(&back, case, RfiDue, day(6, 9), "Dismissed Renamed", 1);
    assert!(!link(&mut conn, case, RfiDue).dismissed);
    assert!(
        event_of(&p, case, RfeDue).is_none(),
        "the other one stays dismissed"
    );
    assert!(
        p.w.emu
            .event(p.w.calendar(), &rfi)
            .is_some_and(|e| !is_live(&e))
    );
    p.until_idle().await;
    p.stop().await;
}

/// Waits until every notification was delivered and the inbound jobs they caused are done.
async fn inbound_caught_up(p: &Pipeline) {
    eventually(SETTLE, "the inbound sync to catch up", || async {
        let delivered =
            p.w.emu
                .notifications()
                .iter()
                .all(|n| n.status() == Some(200));
        let depth = p.redis.depth().await;
        delivered && depth.ready + depth.delayed + depth.inflight == 0
    })
    .await;
    p.until_idle().await;
}

fn case_row(conn: &mut PgConnection, case: CaseId) -> String {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    diesel::sql_query(
        "SELECT to_jsonb(c)::text || coalesce((SELECT jsonb_agg(r ORDER BY deadline_kind)::text
                FROM case_deadline_revisions r WHERE r.case_id = c.id), '') AS row
         FROM cases c WHERE id = $1",
    )
    .bind::<SqlUuid, _>(case)
    .get_result::<Row>(conn)
    .unwrap()
    .row
}

#[tokio::test]
async fn the_echo_of_calsyncs_own_writes_changes_nothing_in_cases() {
    let p = Pipeline::start().await;
    p.watch().await;
    let mut conn = p.w.db.conn();
    let case = insert_case_with(
        &mut conn,
        p.w.user_id,
        "Echo",
        &[(RfiDue, day(7, 1)), (RfeDue, day(7, 2))],
    );
    settle(&p, "two events", || live_events_of(&p, case).len() == 2).await;
    set_deadline(&mut conn, case, RfiDue, Some(day(7, 3)));
    settle(&p, "the move", || {
        event_of(&p, case, RfiDue).and_then(|e| event_date(&e)) == Some(day(7, 3))
    })
    .await;
    let before = case_row(&mut conn, case);
    let writes = event_writes(&p).len();

    inbound_caught_up(&p).await;
    let notes = p.w.emu.notifications();
    assert!(
        notes
            .iter()
            .filter(|n| n.resource_state == "exists")
            .count()
            >= 3,
        "{notes:?}"
    );
    let last_write = event_writes(&p).last().unwrap().at;
    assert!(
        event_requests(&p, "GET")
            .iter()
            .any(|r| r.at > last_write && r.query.contains("syncToken")),
        "the inbound sync read calsync's writes back"
    );
    assert_eq!(case_row(&mut conn, case), before, "the case is untouched");
    assert!(audit(&mut conn, case).is_empty());
    assert_eq!(outbox_len(&mut conn), 0);
    assert_eq!(
        event_writes(&p).len(),
        writes,
        "and nothing is written back to Google"
    );
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test]
async fn a_round_trip_converges_with_a_bounded_number_of_requests() {
    let (p, case) = one_synced_deadline("Round Trip").await;
    let mut conn = p.w.db.conn();
    inbound_caught_up(&p).await;
    p.w.emu.clear_records();

    // Tracker → Google.
    set_deadline(&mut conn, case, RfiDue, Some(day(5, 5)));
    settle(&p, "the tracker's move in Google", || {
        event_of(&p, case, RfiDue).and_then(|e| event_date(&e)) == Some(day(5, 5))
    })
    .await;
    inbound_caught_up(&p).await;
    // Google → tracker.
    user_moves(&p, case, day(5, 12));
    settle(&p, "the user's move in the case", || {
        deadline(&mut p.w.db.conn(), case, RfiDue) == Some(day(5, 12))
    })
    .await;
    inbound_caught_up(&p).await;

    let requests = p.w.emu.requests();
    let writes: Vec<_> = event_writes(&p)
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        writes,
        vec![("PATCH".to_owned(), 200)],
        "each change travelled once"
    );
    assert!(
        requests.len() <= 8,
        "one patch plus a few incremental listings: {:?}",
        requests
            .iter()
            .map(|r| (&r.method, &r.path, r.status))
            .collect::<Vec<_>>()
    );
    let event = event_of(&p, case, RfiDue).unwrap();
    assert_eq!(event_date(&event), Some(day(5, 12)));
    assert_eq!(
        link(&mut conn, case, RfiDue).etag.as_deref(),
        event["etag"].as_str()
    );
    assert_eq!(
        audit(&mut conn, case),
        vec![(
            "rfi_due_date".into(),
            Some(day(5, 5)),
            Some(day(5, 12)),
            "applied".into()
        )]
    );
    p.until_idle().await;
    p.stop().await;
}
