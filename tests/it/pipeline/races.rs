//! Edits on both sides close together, as people make them, with Google answering each call
//! in about 100 ms: every change is counted by who made it, the later of the two last writes
//! wins, and case and event agree within 10 s of the last edit.

use std::time::{Duration, Instant};

use calsync::db::models::sync_audit::{self, AuditEntry};
use calsync::jobs::push_case_changes::PushCaseChanges;
use chrono::NaiveDate;
use gcal_emulator::NotificationMode;

use super::inbound::support::{
    LinkedDeadline, Pipeline, PipelineOptions, day, deadline_of, linked_deadline, move_to,
};
use crate::helpers::test_redis::counter;

/// The bound the issue sets: case and event agree within this of the last edit.
const AGREE_WITHIN: Duration = Duration::from_secs(10);

/// A pipeline whose Google answers in 80–120 ms; its workers start with [`watched`].
async fn google_paced() -> Pipeline {
    Pipeline::start_with(PipelineOptions::google_paced(80, 120)).await
}

/// Watches the calendar, then starts two workers (as two processes) and waits until idle.
async fn watched(p: &mut Pipeline) {
    p.watch().await;
    p.start_workers();
    p.start_workers();
    p.until_idle().await;
}

fn event_date(p: &Pipeline, d: &LinkedDeadline) -> Option<NaiveDate> {
    let event = p.w.emu.event(p.w.calendar(), &d.event_id)?;
    event["start"]["date"].as_str()?.parse().ok()
}

fn audit(p: &Pipeline, d: &LinkedDeadline) -> Vec<AuditEntry> {
    sync_audit::list_for_case(&mut p.w.db.conn(), d.case_id).unwrap()
}

/// The tracker writes the deadline (as the case tracker's backend would), committed.
fn tracker_sets(p: &Pipeline, d: &LinkedDeadline, date: NaiveDate) {
    super::outbound::set_deadline(&mut p.w.db.conn(), d.case_id, d.kind, Some(date));
}

/// Waits (at most `AGREE_WITHIN` from `since`) until case and event both show `date`.
async fn agree_on(p: &Pipeline, d: &LinkedDeadline, date: NaiveDate, since: Instant) {
    loop {
        if deadline_of(&p.w, d) == Some(date) && event_date(p, d) == Some(date) {
            return;
        }
        assert!(
            since.elapsed() < AGREE_WITHIN,
            "no agreement on {date} within {AGREE_WITHIN:?}: case {:?}, event {:?}, audit {:?}",
            deadline_of(&p.w, d),
            event_date(p, d),
            audit(p, d)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_move_in_google_a_tenth_of_a_second_after_the_first_is_kept() {
    let mut p = google_paced().await;
    let deadlines: Vec<_> = (0..3)
        .map(|_| linked_deadline(&p.w, calsync::domain::DeadlineKind::RfeDue, day(9, 1)))
        .collect();
    watched(&mut p).await;
    let pushes = counter(&p.redis.queue(PushCaseChanges::QUEUE), "enqueued").await;
    for d in &deadlines {
        move_to(&p, d, day(9, 8));
        tokio::time::sleep(Duration::from_millis(100)).await;
        move_to(&p, d, day(9, 9));
    }
    let last_edit = Instant::now();
    for d in &deadlines {
        agree_on(&p, d, day(9, 9), last_edit).await;
    }
    p.until_idle().await;
    for d in &deadlines {
        assert_eq!(deadline_of(&p.w, d), Some(day(9, 9)));
        assert_eq!(event_date(&p, d), Some(day(9, 9)));
        let rows = audit(&p, d);
        assert!(rows.iter().all(|r| r.outcome == "applied"), "{rows:?}");
        assert!(
            rows.iter().all(|r| !r.conflict),
            "calsync's apply is not a tracker write"
        );
        assert_eq!(rows.last().unwrap().new_value, Some(day(9, 9)));
    }
    // Changes applied from Google queued no push: the events already showed them.
    assert_eq!(
        counter(&p.redis.queue(PushCaseChanges::QUEUE), "enqueued").await,
        pushes
    );
    let writes: Vec<_> = p
        .w
        .emu
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path.contains("/events") && !r.path.ends_with("/watch"))
        .map(|r| format!("{} {} {} {}", r.method, r.path, r.status, r.body))
        .collect();
    assert!(writes.is_empty(), "calsync wrote to Google: {writes:#?}");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracker_write_and_a_google_move_close_together_end_on_the_later_one() {
    let mut p = google_paced().await;
    let kind = calsync::domain::DeadlineKind::RfiDue;
    let pairs: Vec<_> = (0..8)
        .map(|_| linked_deadline(&p.w, kind, day(9, 1)))
        .collect();
    watched(&mut p).await;
    // Half the pairs: the tracker first, then Google 54 ms later; the other half the other
    // way round. Each side's value is unique, so the winner is plain to see.
    let mut expected = Vec::new();
    for (i, d) in pairs.iter().enumerate() {
        let (tracker, google) = (day(10, 1 + i as u32), day(11, 1 + i as u32));
        if i % 2 == 0 {
            tracker_sets(&p, d, tracker);
            tokio::time::sleep(Duration::from_millis(54)).await;
            move_to(&p, d, google);
            expected.push(google);
        } else {
            move_to(&p, d, google);
            tokio::time::sleep(Duration::from_millis(54)).await;
            tracker_sets(&p, d, tracker);
            expected.push(tracker);
        }
    }
    let last_edit = Instant::now();
    for (d, want) in pairs.iter().zip(&expected) {
        agree_on(&p, d, *want, last_edit).await;
    }
    p.until_idle().await;
    for (d, want) in pairs.iter().zip(&expected) {
        assert_eq!(
            (deadline_of(&p.w, d), event_date(&p, d)),
            (Some(*want), Some(*want))
        );
        // Every change Google reported is audited, and a later write never lost.
        for row in audit(&p, d) {
            if row.outcome == "rejected" {
                assert_ne!(row.google_value, Some(*want), "{row:?}");
                assert!(row.conflict && row.tracker_value == Some(*want), "{row:?}");
            }
        }
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_edit_the_tracker_overrode_is_audited_with_both_sides_and_corrected() {
    let mut p = google_paced().await;
    let d = linked_deadline(&p.w, calsync::domain::DeadlineKind::RfeDue, day(9, 1));
    watched(&mut p).await;
    // Google's notification is lost; the tracker writes later; the push meets the user's
    // version as a 412, syncs the calendar first, and the tracker's later write wins.
    p.w.emu.set_notification_mode(NotificationMode::Drop);
    move_to(&p, &d, day(9, 20));
    tokio::time::sleep(Duration::from_millis(30)).await;
    tracker_sets(&p, &d, day(9, 25));
    agree_on(&p, &d, day(9, 25), Instant::now()).await;
    p.until_idle().await;
    let rows = audit(&p, &d);
    let rejected: Vec<_> = rows.iter().filter(|r| r.outcome == "rejected").collect();
    assert_eq!(rejected.len(), 1, "{rows:?}");
    let r = rejected[0];
    assert!(r.conflict);
    assert_eq!(
        (r.tracker_value, r.google_value),
        (Some(day(9, 25)), Some(day(9, 20)))
    );
    assert!(
        r.tracker_changed_at.unwrap() > r.google_updated_at.unwrap(),
        "{r:?}"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_edit_later_than_the_trackers_wins_and_the_overridden_write_is_audited() {
    let mut p = google_paced().await;
    let d = linked_deadline(&p.w, calsync::domain::DeadlineKind::RfeDue, day(9, 1));
    watched(&mut p).await;
    // Both edits are made while no worker runs, so the workers meet them together: the
    // tracker's first, Google's 20 ms later.
    p.stop_workers().await;
    tracker_sets(&p, &d, day(9, 12));
    tokio::time::sleep(Duration::from_millis(20)).await;
    move_to(&p, &d, day(9, 14));
    let last_edit = Instant::now();
    p.start_workers();
    p.start_workers();
    agree_on(&p, &d, day(9, 14), last_edit).await;
    p.until_idle().await;
    let rows = audit(&p, &d);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!((r.outcome.as_str(), r.conflict), ("applied", true));
    assert_eq!(
        (r.tracker_value, r.google_value),
        (Some(day(9, 12)), Some(day(9, 14)))
    );
    assert!(
        r.google_updated_at.unwrap() > r.tracker_changed_at.unwrap(),
        "{r:?}"
    );
    p.stop().await;
}
