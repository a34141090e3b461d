//! Changes made in Google reach the cases: moves, deletions, many pages, duplicates, a 410,
//! and our own echo.

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_and_deletions_in_google_reach_the_cases_with_an_audit_row_per_change() {
    let mut p = paused().await;
    let moved = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
    let deleted = linked_deadline(&p.w, DeadlineKind::I140FilingDeadline, day(9, 2));
    let untouched = linked_deadline(&p.w, DeadlineKind::RfiDue, day(9, 3));
    p.watch().await;
    resume(&mut p);
    p.until_idle().await;
    let inserts_before =
        p.w.emu
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count();

    let etag = move_to(&p, &moved, day(9, 20));
    p.w.emu
        .user_delete_event(p.w.calendar(), &deleted.event_id)
        .unwrap();
    eventually(WITHIN, "the move and the deletion to apply", || async {
        deadline_of(&p.w, &moved) == Some(day(9, 20)) && link(&p, &deleted).dismissed
    })
    .await;
    p.until_idle().await;

    assert_applied_once(&p, &moved, day(9, 1), day(9, 20));
    assert_eq!(audit(&p, &moved)[0].google_etag.as_deref(), Some(&*etag));
    assert_eq!(
        deadline_of(&p.w, &deleted),
        Some(day(9, 2)),
        "a deleted event keeps the case's deadline"
    );
    assert!(
        audit(&p, &deleted).is_empty(),
        "a dismissal changes no case"
    );
    assert_eq!(deadline_of(&p.w, &untouched), Some(day(9, 3)));
    assert!(audit(&p, &untouched).is_empty());
    // The outbound push does not put the dismissed event back.
    let event = p.w.emu.event(p.w.calendar(), &deleted.event_id).unwrap();
    assert_eq!(event["status"], "cancelled");
    assert_eq!(
        p.w.emu
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        inserts_before
    );
    let stamped = count(
        &mut p.w.db.conn(),
        &format!(
            "SELECT count(*) AS n FROM cases WHERE id = '{}' AND calendar_last_synced_at IS NOT NULL",
            moved.case_id
        ),
    );
    assert_eq!(stamped, 1);
    assert_queue_drained(&p).await;
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_spanning_several_pages_are_applied_by_one_run_in_one_commit() {
    let mut p = Pipeline::start_with(PipelineOptions {
        worker: WorkerOptions {
            sync: SyncSettings {
                page_size: 2,
                ..SyncSettings::default()
            },
            ..WorkerOptions::default()
        },
        workers: false,
        ..PipelineOptions::default()
    })
    .await;
    let deadlines: Vec<_> = (0..7)
        .map(|i| linked_deadline(&p.w, DeadlineKind::ALL[i % 9], day(9, 1)))
        .collect();
    let channel_id = p.watch().await;
    resume(&mut p);
    p.until_idle().await;
    let token_before = channel(&p, &channel_id).sync_token.unwrap();
    let lists_before = list_requests(&p).len();

    // Google sends one notification for the lot: the first six are dropped on the way.
    p.w.emu.set_notification_mode(NotificationMode::Drop);
    for (i, d) in deadlines[..6].iter().enumerate() {
        move_to(&p, d, day(9, 10 + i as u32));
    }
    p.w.emu.set_notification_mode(NotificationMode::Normal);
    move_to(&p, &deadlines[6], day(9, 16));
    eventually(WITHIN, "all seven moves to apply", || async {
        deadlines
            .iter()
            .enumerate()
            .all(|(i, d)| deadline_of(&p.w, d) == Some(day(9, 10 + i as u32)))
    })
    .await;
    p.until_idle().await;

    for (i, d) in deadlines.iter().enumerate() {
        assert_applied_once(&p, d, day(9, 1), day(9, 10 + i as u32));
    }
    // One run read them: every page from the same token, with page tokens after the first.
    // (Later runs read the outbound push's re-titling of the moved events: echoes.)
    let lists: Vec<_> = list_requests(&p)
        .split_off(lists_before)
        .into_iter()
        .filter(|r| param(r, "syncToken").as_deref() == Some(&*token_before))
        .collect();
    assert_eq!(lists.len(), 4, "7 changes at 2 per page: {lists:#?}");
    assert!(
        lists
            .iter()
            .all(|r| r.status == 200 && param(r, "maxResults").as_deref() == Some("2"))
    );
    assert!(param(&lists[0], "pageToken").is_none());
    assert!(lists[1..].iter().all(|r| param(r, "pageToken").is_some()));
    // One commit: the audit rows share the transaction's timestamp, and the token moved.
    let stamps: std::collections::BTreeSet<DateTime<Utc>> = deadlines
        .iter()
        .map(|d| audit(&p, d)[0].recorded_at)
        .collect();
    assert_eq!(stamps.len(), 1, "{stamps:?}");
    assert_ne!(channel(&p, &channel_id).sync_token.unwrap(), token_before);
    assert_queue_drained(&p).await;
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_delivered_twice_applies_its_change_once() {
    let mut p = paused().await;
    let d = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
    p.watch().await;
    resume(&mut p);
    p.until_idle().await;
    let notified = p.w.emu.notifications().len();

    p.w.emu.set_notification_mode(NotificationMode::Duplicate);
    move_to(&p, &d, day(9, 19));
    eventually(WITHIN, "the move to apply", || async {
        deadline_of(&p.w, &d) == Some(day(9, 19))
    })
    .await;
    p.w.emu.set_notification_mode(NotificationMode::Normal);
    p.until_idle().await;

    let after = p.w.emu.notifications().split_off(notified);
    let first = after
        .iter()
        .find(|n| n.resource_state == "exists")
        .expect("the move was notified");
    let copies: Vec<_> = after
        .iter()
        .filter(|n| n.message_number == first.message_number)
        .collect();
    assert_eq!(copies.len(), 2, "{after:?}");
    assert!(copies.iter().all(|n| n.status() == Some(200)), "{copies:?}");
    assert!(p.redis.counter("duplicate").await >= 1);
    assert_applied_once(&p, &d, day(9, 1), day(9, 19));
    assert_queue_drained(&p).await;
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_in_the_middle_of_a_channels_life_falls_back_to_a_full_sync_and_loses_nothing() {
    let mut p = paused().await;
    let early = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
    let moved = linked_deadline(&p.w, DeadlineKind::RfiDue, day(9, 2));
    let deleted = linked_deadline(&p.w, DeadlineKind::FilingWindowCloses, day(9, 3));
    let later = linked_deadline(&p.w, DeadlineKind::PwdExpiration, day(9, 4));
    let channel_id = p.watch().await;
    resume(&mut p);
    p.until_idle().await;

    // A while of incremental life first.
    move_to(&p, &early, day(9, 11));
    eventually(WITHIN, "the first move to apply", || async {
        deadline_of(&p.w, &early) == Some(day(9, 11))
    })
    .await;
    p.until_idle().await;

    // Google forgets the token; the next changes arrive after that.
    let lists_before = list_requests(&p).len();
    p.w.emu.invalidate_sync_tokens(p.w.calendar()).unwrap();
    move_to(&p, &moved, day(9, 12));
    p.w.emu
        .user_delete_event(p.w.calendar(), &deleted.event_id)
        .unwrap();
    eventually(WITHIN, "the changes after the 410 to apply", || async {
        deadline_of(&p.w, &moved) == Some(day(9, 12)) && link(&p, &deleted).dismissed
    })
    .await;
    p.until_idle().await;

    let lists: Vec<_> = list_requests(&p).split_off(lists_before);
    let gone = lists
        .iter()
        .position(|r| r.status == 410)
        .expect("the stored token was refused");
    assert!(param(&lists[gone], "syncToken").is_some());
    let full = &lists[gone + 1];
    assert!(
        full.status == 200 && param(full, "syncToken").is_none(),
        "a full listing follows the 410: {lists:#?}"
    );
    assert_applied_once(&p, &early, day(9, 1), day(9, 11));
    assert_applied_once(&p, &moved, day(9, 2), day(9, 12));
    assert_eq!(deadline_of(&p.w, &deleted), Some(day(9, 3)));
    assert!(audit(&p, &deleted).is_empty());
    assert!(!link(&p, &later).dismissed);
    let token = channel(&p, &channel_id).sync_token.unwrap();

    // The new token works: the next change is read incrementally from it.
    let lists_before = list_requests(&p).len();
    move_to(&p, &later, day(9, 14));
    eventually(WITHIN, "the move after the resync to apply", || async {
        deadline_of(&p.w, &later) == Some(day(9, 14))
    })
    .await;
    p.until_idle().await;
    let lists: Vec<_> = list_requests(&p).split_off(lists_before);
    assert_eq!(param(&lists[0], "syncToken").as_deref(), Some(&*token));
    assert!(lists.iter().all(|r| r.status == 200));
    assert_applied_once(&p, &later, day(9, 4), day(9, 14));
    assert_queue_drained(&p).await;
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_own_push_comes_back_as_an_echo_and_changes_nothing() {
    let mut p = paused().await;
    let d = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
    let channel_id = p.watch().await;
    resume(&mut p);
    p.until_idle().await;
    let token_before = channel(&p, &channel_id).sync_token.unwrap();
    let patches_before = p.w.count_requests("PATCH", "/events/");

    // The tracker changes the deadline; calsync pushes it; Google notifies calsync of it.
    sql_query(format!(
        "UPDATE cases SET {} = '{}' WHERE id = '{}'",
        d.kind.column(),
        day(9, 7),
        d.case_id
    ))
    .execute(&mut p.w.db.conn())
    .unwrap();
    eventually(WITHIN, "the push's notification to be synced", || async {
        channel(&p, &channel_id).sync_token.as_deref() != Some(&*token_before)
    })
    .await;
    p.until_idle().await;

    assert_eq!(
        p.w.count_requests("PATCH", "/events/"),
        patches_before + 1,
        "one push, and no ping-pong after it"
    );
    let event = p.w.emu.event(p.w.calendar(), &d.event_id).unwrap();
    assert_eq!(event["start"]["date"], day(9, 7).to_string());
    assert!(
        p.w.emu
            .notifications()
            .iter()
            .any(|n| n.status() == Some(200)
                && n.resource_state == "exists"
                && n.channel_id == channel_id)
    );
    assert_eq!(deadline_of(&p.w, &d), Some(day(9, 7)));
    assert!(
        audit(&p, &d).is_empty(),
        "an echo is not a change from Google"
    );
    assert_eq!(link(&p, &d).etag.as_deref(), event["etag"].as_str());
    assert_queue_drained(&p).await;
    p.until_idle().await;
    p.stop().await;
}
