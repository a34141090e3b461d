//! The sync engine against the emulator, called directly (the queue path is tested with the
//! webhook and worker).

use std::time::Duration;

use calsync::account::AccountError;
use calsync::channels::{WatchTarget, watch_calendar};
use calsync::config::SyncSettings;
use calsync::db::models::CredentialStatus;
use calsync::db::models::calendar_channel::{self as channels, ChannelStatus};
use calsync::db::models::case_event_link as links;
use calsync::db::models::google_credential;
use calsync::db::models::sync_audit;
use calsync::domain::DeadlineKind;
use calsync::inbound::{SyncError, SyncOutcome, SyncReport, sync_channel};
use calsync::retry::{Classify, Failure, Parked};
use chrono::NaiveDate;
use gcal_emulator::{EmulatorConfig, EventTime, FaultKind, FaultRule};

use crate::helpers::calendar_fixtures::{deadline_of, linked_deadline};
use crate::helpers::dates::day;
use crate::helpers::google::GoogleWorld;

fn target() -> WatchTarget {
    // Nothing listens there: these tests drive the sync directly.
    WatchTarget {
        address: "http://127.0.0.1:9/api/webhooks/google-calendar".into(),
        ttl: None,
    }
}

async fn watch(w: &GoogleWorld) -> String {
    let (channel, outcome) = watch_calendar(&w.ctx, w.user_id, w.calendar(), &target(), |id| {
        format!("t-{id}")
    })
    .await
    .unwrap();
    assert!(
        matches!(outcome, SyncOutcome::Synced(SyncReport { full: true, .. })),
        "{outcome:?}"
    );
    channel.channel_id
}

async fn sync(w: &GoogleWorld, channel_id: &str) -> SyncReport {
    match sync_channel(&w.ctx, channel_id).await.unwrap() {
        SyncOutcome::Synced(report) => report,
        other => panic!("expected a sync, got {other:?}"),
    }
}

fn move_to(w: &GoogleWorld, event_id: &str, date: NaiveDate) {
    w.emu
        .user_move_event(
            w.calendar(),
            event_id,
            &EventTime::Date(date),
            &EventTime::Date(date.succ_opt().unwrap()),
        )
        .unwrap();
}

#[tokio::test]
async fn moves_and_deletions_in_google_reach_the_cases() {
    let w = GoogleWorld::start().await;
    let rfe = linked_deadline(&w, DeadlineKind::RfeDue, day(2, 1));
    let i140 = linked_deadline(&w, DeadlineKind::I140FilingDeadline, day(2, 2));
    let channel_id = watch(&w).await;
    let stored = channels::find_by_channel_id(&mut w.db.conn(), &channel_id)
        .unwrap()
        .unwrap();
    assert!(stored.sync_token.is_some());

    move_to(&w, &rfe.event_id, day(2, 20));
    w.emu
        .user_delete_event(w.calendar(), &i140.event_id)
        .unwrap();
    let report = sync(&w, &channel_id).await;
    assert!(!report.full);
    assert_eq!((report.stats.applied, report.stats.dismissed), (1, 1));

    assert_eq!(deadline_of(&w, &rfe), Some(day(2, 20)));
    assert_eq!(
        deadline_of(&w, &i140),
        Some(day(2, 2)),
        "a deleted event keeps the deadline"
    );
    let link = links::find_by_event(&mut w.db.conn(), w.user_id, w.calendar(), &i140.event_id)
        .unwrap()
        .unwrap();
    assert!(link.dismissed);
    let audit = sync_audit::list_for_case(&mut w.db.conn(), rfe.case_id).unwrap();
    assert_eq!((audit.len(), audit[0].new_value), (1, Some(day(2, 20))));

    // Nothing new: an incremental run changes nothing.
    let again = sync(&w, &channel_id).await;
    assert_eq!((again.events, again.stats.applied), (0, 0));
}

#[tokio::test]
async fn changes_spanning_several_pages_are_all_applied_with_one_token_move() {
    let settings = SyncSettings {
        page_size: 2,
        ..SyncSettings::default()
    };
    let w = GoogleWorld::start_with(EmulatorConfig::default(), settings).await;
    let deadlines: Vec<_> = DeadlineKind::ALL[..5]
        .iter()
        .map(|k| linked_deadline(&w, *k, day(2, 1)))
        .collect();
    let channel_id = watch(&w).await;
    for (i, d) in deadlines.iter().enumerate() {
        move_to(&w, &d.event_id, day(2, 10 + i as u32));
    }
    let lists_before = w.count_requests("GET", "/events");
    let report = sync(&w, &channel_id).await;
    assert_eq!(report.stats.applied, 5);
    assert!(report.pages >= 3, "{report:?}");
    assert_eq!(
        w.count_requests("GET", "/events") - lists_before,
        report.pages
    );
    for (i, d) in deadlines.iter().enumerate() {
        assert_eq!(deadline_of(&w, d), Some(day(2, 10 + i as u32)));
    }
}

#[tokio::test]
async fn an_invalidated_token_triggers_a_full_resync_that_loses_nothing() {
    let w = GoogleWorld::start().await;
    let kept = linked_deadline(&w, DeadlineKind::RfiDue, day(2, 3));
    let moved = linked_deadline(&w, DeadlineKind::FilingWindowOpens, day(2, 4));
    let deleted = linked_deadline(&w, DeadlineKind::FilingWindowCloses, day(2, 5));
    let channel_id = watch(&w).await;

    w.emu.invalidate_sync_tokens(w.calendar()).unwrap();
    move_to(&w, &moved.event_id, day(2, 14));
    w.emu
        .user_delete_event(w.calendar(), &deleted.event_id)
        .unwrap();
    let report = sync(&w, &channel_id).await;

    assert!(report.full);
    assert_eq!(report.links_marked_missing, 1);
    assert_eq!(deadline_of(&w, &moved), Some(day(2, 14)));
    assert_eq!(deadline_of(&w, &kept), Some(day(2, 3)));
    assert_eq!(
        deadline_of(&w, &deleted),
        Some(day(2, 5)),
        "case data is never lost"
    );
    let mut conn = w.db.conn();
    assert!(
        links::find_by_event(&mut conn, w.user_id, w.calendar(), &deleted.event_id)
            .unwrap()
            .unwrap()
            .dismissed
    );
    assert!(
        !links::find_by_event(&mut conn, w.user_id, w.calendar(), &kept.event_id)
            .unwrap()
            .unwrap()
            .dismissed
    );
    // The new token works: the next run is incremental.
    assert!(!sync(&w, &channel_id).await.full);
}

#[tokio::test]
async fn transient_errors_and_short_rate_limits_are_retried_within_the_run() {
    // The test policy's in-run backoff starts at 20 ms.
    let w = GoogleWorld::start().await;
    let d = linked_deadline(&w, DeadlineKind::RfeDue, day(2, 1));
    let channel_id = watch(&w).await;
    move_to(&w, &d.event_id, day(2, 8));
    w.emu
        .inject_fault(FaultRule::new(FaultKind::Status503, 1).path_contains("/events"));
    w.emu.inject_fault(
        FaultRule::new(FaultKind::Status429, 1)
            .path_contains("/events")
            .retry_after(0),
    );
    assert_eq!(sync(&w, &channel_id).await.stats.applied, 1);
    assert_eq!(deadline_of(&w, &d), Some(day(2, 8)));
}

#[tokio::test]
async fn a_long_rate_limit_fails_the_run_retryably_and_writes_nothing() {
    let w = GoogleWorld::start().await;
    let d = linked_deadline(&w, DeadlineKind::RfeDue, day(2, 1));
    let channel_id = watch(&w).await;
    let token_before = channels::find_by_channel_id(&mut w.db.conn(), &channel_id)
        .unwrap()
        .unwrap()
        .sync_token;
    move_to(&w, &d.event_id, day(2, 8));
    w.emu.inject_fault(
        FaultRule::new(FaultKind::Status429, 1)
            .path_contains("/events")
            .retry_after(120),
    );

    let err = sync_channel(&w.ctx, &channel_id).await.unwrap_err();
    assert!(
        matches!(err.classify(), Failure::RateLimited { .. }),
        "{err:?}"
    );
    assert_eq!(deadline_of(&w, &d), Some(day(2, 1)));
    let row = channels::find_by_channel_id(&mut w.db.conn(), &channel_id)
        .unwrap()
        .unwrap();
    assert_eq!(row.sync_token, token_before);
    // The lease was released: the retry runs at once and applies the change.
    assert_eq!(sync(&w, &channel_id).await.stats.applied, 1);
}

#[tokio::test]
async fn a_revoked_grant_marks_the_user_for_reauthorisation_and_stops_syncing() {
    let w = GoogleWorld::start().await;
    let channel_id = watch(&w).await;
    w.emu.revoke_grant(&w.google_user.refresh_token).unwrap();
    w.emu.expire_access_tokens();

    let err = sync_channel(&w.ctx, &channel_id).await.unwrap_err();
    assert!(
        matches!(err, SyncError::Account(AccountError::GrantRevoked))
            && err.classify() == Failure::NeedsAction(Parked::GrantRevoked),
        "{err:?}"
    );
    let mut conn = w.db.conn();
    assert_eq!(
        channels::find_by_channel_id(&mut conn, &channel_id)
            .unwrap()
            .unwrap()
            .status,
        ChannelStatus::NeedsReauth
    );
    assert_eq!(
        google_credential::find(&mut conn, w.user_id)
            .unwrap()
            .unwrap()
            .status,
        CredentialStatus::Revoked
    );
    let lists = w.count_requests("GET", "/events");
    assert_eq!(
        sync_channel(&w.ctx, &channel_id).await.unwrap(),
        SyncOutcome::Inactive(ChannelStatus::NeedsReauth)
    );
    assert_eq!(
        w.count_requests("GET", "/events"),
        lists,
        "no Google call for an inactive channel"
    );
}

#[tokio::test]
async fn a_calendar_that_is_gone_stops_its_channel() {
    let w = GoogleWorld::start().await;
    let channel_id = watch(&w).await;
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE calendar_sync_channels SET calendar_id = 'deleted@example.com'"),
        &mut w.db.conn(),
    )
    .unwrap();
    let err = sync_channel(&w.ctx, &channel_id).await.unwrap_err();
    assert!(matches!(err, SyncError::CalendarGone), "{err:?}");
    let row = channels::find_by_channel_id(&mut w.db.conn(), &channel_id)
        .unwrap()
        .unwrap();
    assert_eq!(row.status, ChannelStatus::Stopped);
}

#[tokio::test]
async fn our_own_echo_changes_nothing() {
    let w = GoogleWorld::start().await;
    let d = linked_deadline(&w, DeadlineKind::RfeDue, day(2, 1));
    let channel_id = watch(&w).await;
    // calsync itself wrote a new version (its etag recorded on the link), then Google reports it.
    let written = w
        .emu
        .user_retitle_event(w.calendar(), &d.event_id, "RFE response due: Acme")
        .unwrap();
    let mut conn = w.db.conn();
    let link = links::find_by_event(&mut conn, w.user_id, w.calendar(), &d.event_id)
        .unwrap()
        .unwrap();
    links::record_sync(
        &mut conn,
        link.id,
        written["etag"].as_str().unwrap(),
        day(2, 1),
        link.synced_tracker_rev.unwrap_or(0),
    )
    .unwrap();

    let report = sync(&w, &channel_id).await;
    assert_eq!((report.stats.echoes, report.stats.applied), (1, 0));
    assert!(
        sync_audit::list_for_case(&mut conn, d.case_id)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn two_racing_runs_apply_a_change_once() {
    let w = GoogleWorld::start().await;
    let d = linked_deadline(&w, DeadlineKind::RfeDue, day(2, 1));
    let channel_id = watch(&w).await;
    move_to(&w, &d.event_id, day(2, 9));

    let (a, b) = tokio::join!(
        sync_channel(&w.ctx, &channel_id),
        sync_channel(&w.ctx, &channel_id)
    );
    let outcomes = [a, b];
    let busy = outcomes
        .iter()
        .filter(|r| matches!(r, Err(SyncError::Busy)))
        .count();
    let applied: usize = outcomes
        .iter()
        .filter_map(|r| match r {
            Ok(SyncOutcome::Synced(report)) => Some(report.stats.applied),
            _ => None,
        })
        .sum();
    assert_eq!(applied, 1, "{outcomes:?}");
    assert!(busy <= 1);
    assert_eq!(
        sync_audit::list_for_case(&mut w.db.conn(), d.case_id)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(deadline_of(&w, &d), Some(day(2, 9)));
}

/// One writer per calendar: while a run that has listed the calendar waits to commit, the
/// outbound push of the same calendar writes nothing (it waits for the lease, then postpones
/// the case without using an attempt); once the run committed, the push goes ahead from what
/// the run decided, and its next change needs no 412 round and audits nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_waits_while_a_sync_of_its_calendar_is_deciding() {
    let w = GoogleWorld::start().await;
    let one = linked_deadline(&w, DeadlineKind::RfeDue, day(2, 1));
    let two = linked_deadline(&w, DeadlineKind::RfiDue, day(2, 2));
    // A full listing comes in event id order: the run blocks on the first, the second is
    // pushed while it waits.
    let (blocker, pushed) = if one.event_id < two.event_id {
        (one, two)
    } else {
        (two, one)
    };
    let channel_id = watch(&w).await;
    let mut conn = w.db.conn();
    // Only `pushed` waits for a push: its case is renamed, so its event needs a new title.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE cases SET employer_name = 'Renamed Robotics' WHERE id = '{}'",
            pushed.case_id
        )),
        &mut conn,
    )
    .unwrap();
    move_to(&w, &blocker.event_id, day(2, 20));
    w.emu.invalidate_sync_tokens(w.calendar()).unwrap();

    let mut lock = w.db.conn();
    for sql in [
        "BEGIN".to_owned(),
        format!(
            "SELECT 1 FROM cases WHERE id = '{}' FOR UPDATE",
            blocker.case_id
        ),
    ] {
        diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut lock).unwrap();
    }
    let (ctx, id) = (w.ctx.clone(), channel_id.clone());
    let run = tokio::spawn(async move { sync_channel(&ctx, &id).await });
    let started = std::time::Instant::now();
    while lock_waiters(&mut conn) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the run never blocked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let writes = |w: &GoogleWorld| w.count_requests("PATCH", "/events/");
    let patches = writes(&w);
    calsync::outbound::push_user(&w.push_context(), w.user_id)
        .await
        .unwrap();
    assert_eq!(
        writes(&w),
        patches,
        "the push wrote while the sync was deciding"
    );
    let waiting: i64 = diesel::RunQueryDsl::get_result::<Count>(
        diesel::sql_query(format!(
            "SELECT count(*) AS n FROM calendar_outbox
             WHERE case_id = '{}' AND attempts = 0",
            pushed.case_id
        )),
        &mut conn,
    )
    .unwrap()
    .n;
    assert!(waiting >= 1, "the case waits, with no attempt counted");
    diesel::RunQueryDsl::execute(diesel::sql_query("ROLLBACK"), &mut lock).unwrap();
    let outcome = run.await.unwrap().unwrap();
    assert!(
        matches!(&outcome, SyncOutcome::Synced(r) if r.full && r.stats.applied == 1),
        "{outcome:?}"
    );
    // The postponed case is due again within the retry policy's deferral (at most 1.5 x).
    tokio::time::sleep(Duration::from_millis(800)).await;
    calsync::outbound::push_user(&w.push_context(), w.user_id)
        .await
        .unwrap();
    assert_eq!(writes(&w), patches + 1, "the renamed case's title, once");

    let event = w.emu.event(w.calendar(), &pushed.event_id).unwrap();
    let link = links::find_by_event(&mut conn, w.user_id, w.calendar(), &pushed.event_id)
        .unwrap()
        .unwrap();
    assert_eq!(link.etag.as_deref(), event["etag"].as_str());
    // So the tracker's next change is pushed at the first try, and nothing is audited.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE cases SET {} = '{}' WHERE id = '{}'",
            pushed.kind.column(),
            day(2, 9),
            pushed.case_id
        )),
        &mut conn,
    )
    .unwrap();
    let patches = w.count_requests("PATCH", &pushed.event_id);
    calsync::outbound::push_user(&w.push_context(), w.user_id)
        .await
        .unwrap();
    assert_eq!(w.count_requests("PATCH", &pushed.event_id), patches + 1);
    assert!(w.emu.requests().iter().all(|r| r.status != 412));
    assert!(
        sync_audit::list_for_case(&mut conn, pushed.case_id)
            .unwrap()
            .is_empty()
    );
    assert_eq!(deadline_of(&w, &pushed), Some(day(2, 9)));
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn lock_waiters(conn: &mut diesel::PgConnection) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::RunQueryDsl::get_result::<N>(
        diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        ),
        conn,
    )
    .unwrap()
    .n
}
