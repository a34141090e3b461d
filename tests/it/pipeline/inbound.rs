//! The inbound direction through the whole pipeline: the user acts in the emulator, Google's
//! notification reaches the real webhook over TCP, the job goes through Redis to a worker
//! (in-process, or a real `calsync worker` child process), the worker syncs, and the
//! assertions read PostgreSQL, Redis and what the emulator received.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use calsync::config::unique_name;
use calsync::crypto::{EncryptionKey, TokenCipher};
use calsync::db::models::CredentialStatus;
use calsync::db::models::calendar_channel::{self as channels, CalendarChannel, ChannelStatus};
use calsync::db::models::case_event_link::{self as links, CaseEventLink};
use calsync::db::models::google_credential;
use calsync::db::models::sync_audit::{self, AuditEntry};
use calsync::domain::DeadlineKind;
use calsync::emulator::{
    EmulatorConfig, EventTime, FaultKind, FaultRule, NotificationMode, RecordedRequest,
};
use calsync::jobs::push_case_changes::PushCaseChanges;
use calsync::jobs::{self, WorkerSettings, outbox_sweep};
use calsync::queue::JobQueue;
use calsync::queue::backend::BackendSettings;
use calsync::sync::SyncSettings;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::BigInt;

use crate::helpers::calendar_fixtures::{LinkedDeadline, deadline_of, linked_deadline};
use crate::helpers::pipeline::{Pipeline, PipelineOptions};
use crate::helpers::test_redis::{TestWorker, eventually};

const WITHIN: Duration = Duration::from_secs(20);

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 9, d).unwrap()
}

fn move_to(p: &Pipeline, d: &LinkedDeadline, date: NaiveDate) -> String {
    let moved =
        p.w.emu
            .user_move_event(
                p.w.calendar(),
                &d.event_id,
                &EventTime::Date(date),
                &EventTime::Date(date.succ_opt().unwrap()),
            )
            .unwrap();
    moved["etag"].as_str().unwrap().to_owned()
}

fn audit(p: &Pipeline, d: &LinkedDeadline) -> Vec<AuditEntry> {
    sync_audit::list_for_case(&mut p.w.db.conn(), d.case_id).unwrap()
}

fn link(p: &Pipeline, d: &LinkedDeadline) -> CaseEventLink {
    links::find_by_event(&mut p.w.db.conn(), p.w.user_id, p.w.calendar(), &d.event_id)
        .unwrap()
        .unwrap()
}

fn channel(p: &Pipeline, channel_id: &str) -> CalendarChannel {
    channels::find_by_channel_id(&mut p.w.db.conn(), channel_id)
        .unwrap()
        .unwrap()
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    sql_query(sql).get_result::<N>(conn).unwrap().n
}

/// events.list requests the emulator answered, in arrival order.
fn list_requests(p: &Pipeline) -> Vec<RecordedRequest> {
    p.w.emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/events"))
        .collect()
}

fn param(r: &RecordedRequest, name: &str) -> Option<String> {
    r.query_pairs()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Waits until nothing is moving: every notification is delivered, the outbox is drained,
/// both queues are idle, and neither the emulator's records nor the queue counters change
/// for 300 ms. Fixtures are created with an untitled link, so the outbound push re-titles
/// their events (and the inbound sync then reads its own echo); tests start counting after
/// that.
async fn quiet(p: &Pipeline) {
    let pushes = p.redis.queue(PushCaseChanges::QUEUE);
    let snapshot = || async {
        let depth = p.redis.depth().await;
        let push_depth = pushes.depth().await.unwrap();
        let outbox = count(
            &mut p.w.db.conn(),
            "SELECT count(*) AS n FROM calendar_outbox",
        );
        // Every message the emulator numbered has been delivered (or dropped): none is
        // still on its way to the webhook, about to become a job.
        let notes = p.w.emu.notifications();
        let delivered = p.w.emu.channels().iter().all(|c| {
            c.last_message == 0
                || notes
                    .iter()
                    .any(|n| n.channel_id == c.id && n.message_number == c.last_message)
        });
        let idle = delivered
            && outbox == 0
            && depth.ready + depth.delayed + depth.inflight == 0
            && push_depth.ready + push_depth.delayed + push_depth.inflight == 0;
        let activity = (
            p.w.emu.requests().len(),
            p.w.emu.notifications().len(),
            p.redis.calendar_changes().counters().await.unwrap(),
        );
        (idle, activity)
    };
    eventually(WITHIN, "the pipeline to go quiet", || async {
        let (idle, activity) = snapshot().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (idle_after, activity_after) = snapshot().await;
        idle && idle_after && activity == activity_after
    })
    .await;
}

/// A pipeline whose workers start only after the calendar is watched: the first sync then
/// runs alone, not beside the outbound push of the fixtures (the push re-titles their events
/// while the first sync's listing still shows the old versions).
async fn paused() -> Pipeline {
    Pipeline::start_with(PipelineOptions {
        workers: false,
        ..PipelineOptions::default()
    })
    .await
}

/// Starts the workers of a [`paused`] pipeline, as `Pipeline::start` would have.
fn resume(p: &mut Pipeline) {
    let options = PipelineOptions::default();
    p.start_workers(options.concurrency, options.sweep_interval);
}

/// No job went to the dead set and nothing is left in the queue.
async fn assert_queue_drained(p: &Pipeline) {
    let depth = p.redis.depth().await;
    assert_eq!(
        (depth.ready, depth.delayed, depth.inflight, depth.dead),
        (0, 0, 0, 0),
        "{depth:?}"
    );
}

fn assert_applied_once(p: &Pipeline, d: &LinkedDeadline, from: NaiveDate, to: NaiveDate) {
    let rows = audit(p, d);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0].outcome.as_str(),
            rows[0].old_value,
            rows[0].new_value
        ),
        ("applied", Some(from), Some(to))
    );
    assert_eq!(rows[0].field, d.kind.column());
    assert_eq!(deadline_of(&p.w, d), Some(to));
}

/// Backends of this test's database waiting for a lock.
fn lock_waiters(p: &Pipeline) -> i64 {
    count(
        &mut p.w.db.conn(),
        "SELECT count(*) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
}

/// Holds the case row's lock in a transaction of the test's own: a sync that changes the
/// case blocks at its commit (after its listing) until `release`.
fn lock_case(p: &Pipeline, d: &LinkedDeadline) -> PgConnection {
    let mut conn = p.w.db.conn();
    sql_query("BEGIN").execute(&mut conn).unwrap();
    sql_query(format!(
        "SELECT 1 FROM cases WHERE id = '{}' FOR UPDATE",
        d.case_id
    ))
    .execute(&mut conn)
    .unwrap();
    conn
}

fn release(mut lock: PgConnection) {
    sql_query("ROLLBACK").execute(&mut lock).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_and_deletions_in_google_reach_the_cases_with_an_audit_row_per_change() {
    let mut p = paused().await;
    let moved = linked_deadline(&p.w, DeadlineKind::RfeDue, day(1));
    let deleted = linked_deadline(&p.w, DeadlineKind::I140FilingDeadline, day(2));
    let untouched = linked_deadline(&p.w, DeadlineKind::RfiDue, day(3));
    p.watch().await;
    resume(&mut p);
    quiet(&p).await;
    let inserts_before =
        p.w.emu
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count();

    let etag = move_to(&p, &moved, day(20));
    p.w.emu
        .user_delete_event(p.w.calendar(), &deleted.event_id)
        .unwrap();
    eventually(WITHIN, "the move and the deletion to apply", || async {
        deadline_of(&p.w, &moved) == Some(day(20)) && link(&p, &deleted).dismissed
    })
    .await;
    quiet(&p).await;

    assert_applied_once(&p, &moved, day(1), day(20));
    assert_eq!(audit(&p, &moved)[0].google_etag.as_deref(), Some(&*etag));
    assert_eq!(
        deadline_of(&p.w, &deleted),
        Some(day(2)),
        "a deleted event keeps the case's deadline"
    );
    assert!(
        audit(&p, &deleted).is_empty(),
        "a dismissal changes no case"
    );
    assert_eq!(deadline_of(&p.w, &untouched), Some(day(3)));
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
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_spanning_several_pages_are_applied_by_one_run_in_one_commit() {
    let mut p = Pipeline::start_with(PipelineOptions {
        sync: SyncSettings {
            page_size: 2,
            retry_base: Duration::from_millis(20),
            ..SyncSettings::default()
        },
        workers: false,
        ..PipelineOptions::default()
    })
    .await;
    let deadlines: Vec<_> = (0..7)
        .map(|i| linked_deadline(&p.w, DeadlineKind::ALL[i % 9], day(1)))
        .collect();
    let channel_id = p.watch().await;
    resume(&mut p);
    quiet(&p).await;
    let token_before = channel(&p, &channel_id).sync_token.unwrap();
    let lists_before = list_requests(&p).len();

    // Google sends one notification for the lot: the first six are dropped on the way.
    p.w.emu.set_notification_mode(NotificationMode::Drop);
    for (i, d) in deadlines[..6].iter().enumerate() {
        move_to(&p, d, day(10 + i as u32));
    }
    p.w.emu.set_notification_mode(NotificationMode::Normal);
    move_to(&p, &deadlines[6], day(16));
    eventually(WITHIN, "all seven moves to apply", || async {
        deadlines
            .iter()
            .enumerate()
            .all(|(i, d)| deadline_of(&p.w, d) == Some(day(10 + i as u32)))
    })
    .await;
    quiet(&p).await;

    for (i, d) in deadlines.iter().enumerate() {
        assert_applied_once(&p, d, day(1), day(10 + i as u32));
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
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_delivered_twice_applies_its_change_once() {
    let mut p = paused().await;
    let d = linked_deadline(&p.w, DeadlineKind::RfeDue, day(1));
    p.watch().await;
    resume(&mut p);
    quiet(&p).await;
    let notified = p.w.emu.notifications().len();

    p.w.emu.set_notification_mode(NotificationMode::Duplicate);
    move_to(&p, &d, day(19));
    eventually(WITHIN, "the move to apply", || async {
        deadline_of(&p.w, &d) == Some(day(19))
    })
    .await;
    p.w.emu.set_notification_mode(NotificationMode::Normal);
    quiet(&p).await;

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
    assert_applied_once(&p, &d, day(1), day(19));
    assert_queue_drained(&p).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_in_the_middle_of_a_channels_life_falls_back_to_a_full_sync_and_loses_nothing() {
    let mut p = paused().await;
    let early = linked_deadline(&p.w, DeadlineKind::RfeDue, day(1));
    let moved = linked_deadline(&p.w, DeadlineKind::RfiDue, day(2));
    let deleted = linked_deadline(&p.w, DeadlineKind::FilingWindowCloses, day(3));
    let later = linked_deadline(&p.w, DeadlineKind::PwdExpiration, day(4));
    let channel_id = p.watch().await;
    resume(&mut p);
    quiet(&p).await;

    // A while of incremental life first.
    move_to(&p, &early, day(11));
    eventually(WITHIN, "the first move to apply", || async {
        deadline_of(&p.w, &early) == Some(day(11))
    })
    .await;
    quiet(&p).await;

    // Google forgets the token; the next changes arrive after that.
    let lists_before = list_requests(&p).len();
    p.w.emu.invalidate_sync_tokens(p.w.calendar()).unwrap();
    move_to(&p, &moved, day(12));
    p.w.emu
        .user_delete_event(p.w.calendar(), &deleted.event_id)
        .unwrap();
    eventually(WITHIN, "the changes after the 410 to apply", || async {
        deadline_of(&p.w, &moved) == Some(day(12)) && link(&p, &deleted).dismissed
    })
    .await;
    quiet(&p).await;

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
    assert_applied_once(&p, &early, day(1), day(11));
    assert_applied_once(&p, &moved, day(2), day(12));
    assert_eq!(deadline_of(&p.w, &deleted), Some(day(3)));
    assert!(audit(&p, &deleted).is_empty());
    assert!(!link(&p, &later).dismissed);
    let token = channel(&p, &channel_id).sync_token.unwrap();

    // The new token works: the next change is read incrementally from it.
    let lists_before = list_requests(&p).len();
    move_to(&p, &later, day(14));
    eventually(WITHIN, "the move after the resync to apply", || async {
        deadline_of(&p.w, &later) == Some(day(14))
    })
    .await;
    quiet(&p).await;
    let lists: Vec<_> = list_requests(&p).split_off(lists_before);
    assert_eq!(param(&lists[0], "syncToken").as_deref(), Some(&*token));
    assert!(lists.iter().all(|r| r.status == 200));
    assert_applied_once(&p, &later, day(4), day(14));
    assert_queue_drained(&p).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_retried_and_the_change_then_applied_once() {
    let mut p = paused().await;
    let a = linked_deadline(&p.w, DeadlineKind::RfeDue, day(1));
    let b = linked_deadline(&p.w, DeadlineKind::RfiDue, day(2));
    p.watch().await;
    resume(&mut p);
    quiet(&p).await;
    // Jobs of notifications close together may already have met a busy channel and retried.
    let retried = p.redis.counter("retried").await;

    // A short Retry-After: waited out inside the run.
    p.w.emu.inject_fault(
        FaultRule::new(FaultKind::Status429, 1)
            .path_contains("/events")
            .method("GET")
            .retry_after(0),
    );
    move_to(&p, &a, day(21));
    eventually(WITHIN, "the first move to apply", || async {
        deadline_of(&p.w, &a) == Some(day(21))
    })
    .await;
    quiet(&p).await;
    assert_eq!(
        p.redis.counter("retried").await,
        retried,
        "retried within the run"
    );

    // A long one: the run gives up, the queue retries the job later, and it succeeds.
    let lists_before = list_requests(&p).len();
    p.w.emu.inject_fault(
        FaultRule::new(FaultKind::Status429, 1)
            .path_contains("/events")
            .method("GET")
            .retry_after(120),
    );
    move_to(&p, &b, day(22));
    eventually(WITHIN, "the second move to apply", || async {
        deadline_of(&p.w, &b) == Some(day(22))
    })
    .await;
    quiet(&p).await;

    let statuses: Vec<u16> = list_requests(&p)
        .split_off(lists_before)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(&statuses[..2], &[429, 200], "{statuses:?}");
    assert_eq!(p.redis.counter("retried").await, retried + 1);
    assert_applied_once(&p, &a, day(1), day(21));
    assert_applied_once(&p, &b, day(2), day(22));
    assert_queue_drained(&p).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_grant_parks_the_channel_without_retrying_or_calling_google_again() {
    let mut p = paused().await;
    let d = linked_deadline(&p.w, DeadlineKind::RfeDue, day(1));
    let channel_id = p.watch().await;
    resume(&mut p);
    quiet(&p).await;
    let retried = p.redis.counter("retried").await;

    p.w.emu
        .revoke_grant(&p.w.google_user.refresh_token)
        .unwrap();
    p.w.emu.expire_access_tokens();
    move_to(&p, &d, day(25));
    eventually(WITHIN, "the channel to need re-authorisation", || async {
        channel(&p, &channel_id).status == ChannelStatus::NeedsReauth
    })
    .await;
    quiet(&p).await;
    assert_eq!(
        google_credential::find(&mut p.w.db.conn(), p.w.user_id)
            .unwrap()
            .unwrap()
            .status,
        CredentialStatus::Revoked
    );
    assert_eq!(deadline_of(&p.w, &d), Some(day(1)));
    assert!(audit(&p, &d).is_empty());
    assert_eq!(
        p.redis.counter("retried").await,
        retried,
        "a revoked grant is final"
    );

    // Later notifications cost nothing at Google.
    let (lists, tokens) = (
        list_requests(&p).len(),
        p.w.count_requests("POST", "/token"),
    );
    let notified = p.w.emu.notifications().len();
    move_to(&p, &d, day(26));
    eventually(WITHIN, "the next notification to be delivered", || async {
        p.w.emu.notifications()[notified..]
            .iter()
            .any(|n| n.status() == Some(200))
    })
    .await;
    quiet(&p).await;
    assert_eq!(list_requests(&p).len(), lists);
    assert_eq!(p.w.count_requests("POST", "/token"), tokens);
    assert_eq!(deadline_of(&p.w, &d), Some(day(1)));
    assert_queue_drained(&p).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_that_is_gone_stops_its_channel() {
    let mut p = paused().await;
    let d = linked_deadline(&p.w, DeadlineKind::RfeDue, day(1));
    let channel_id = p.watch().await;
    resume(&mut p);
    quiet(&p).await;
    let retried = p.redis.counter("retried").await;
    // The channel now points at a calendar Google does not have (deleted meanwhile).
    sql_query(format!(
        "UPDATE calendar_sync_channels SET calendar_id = 'gone-{}@example.com'",
        uuid::Uuid::new_v4().simple()
    ))
    .execute(&mut p.w.db.conn())
    .unwrap();

    move_to(&p, &d, day(9));
    eventually(WITHIN, "the channel to be stopped", || async {
        channel(&p, &channel_id).status == ChannelStatus::Stopped
    })
    .await;
    quiet(&p).await;
    assert!(list_requests(&p).iter().any(|r| r.status == 404));
    assert_eq!(p.redis.counter("retried").await, retried);
    assert_eq!(deadline_of(&p.w, &d), Some(day(1)));
    assert_queue_drained(&p).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_own_push_comes_back_as_an_echo_and_changes_nothing() {
    let mut p = paused().await;
    let d = linked_deadline(&p.w, DeadlineKind::RfeDue, day(1));
    let channel_id = p.watch().await;
    resume(&mut p);
    quiet(&p).await;
    let token_before = channel(&p, &channel_id).sync_token.unwrap();
    let patches_before = p.w.count_requests("PATCH", "/events/");

    // The tracker changes the deadline; calsync pushes it; Google notifies calsync of it.
    sql_query(format!(
        "UPDATE cases SET {} = '{}' WHERE id = '{}'",
        d.kind.column(),
        day(7),
        d.case_id
    ))
    .execute(&mut p.w.db.conn())
    .unwrap();
    eventually(WITHIN, "the push's notification to be synced", || async {
        channel(&p, &channel_id).sync_token.as_deref() != Some(&*token_before)
    })
    .await;
    quiet(&p).await;

    assert_eq!(
        p.w.count_requests("PATCH", "/events/"),
        patches_before + 1,
        "one push, and no ping-pong after it"
    );
    let event = p.w.emu.event(p.w.calendar(), &d.event_id).unwrap();
    assert_eq!(event["start"]["date"], day(7).to_string());
    assert!(
        p.w.emu
            .notifications()
            .iter()
            .any(|n| n.status() == Some(200)
                && n.resource_state == "exists"
                && n.channel_id == channel_id)
    );
    assert_eq!(deadline_of(&p.w, &d), Some(day(7)));
    assert!(
        audit(&p, &d).is_empty(),
        "an echo is not a change from Google"
    );
    assert_eq!(link(&p, &d).etag.as_deref(), event["etag"].as_str());
    assert_queue_drained(&p).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_racing_on_one_channel_apply_each_change_once() {
    let p = Pipeline::start_with(PipelineOptions {
        workers: false,
        ..PipelineOptions::default()
    })
    .await;
    let a = linked_deadline(&p.w, DeadlineKind::RfeDue, day(1));
    let b = linked_deadline(&p.w, DeadlineKind::RfiDue, day(2));
    let channel_id = p.watch().await;
    // Two workers of one job each (as two processes), with a retry budget longer than the
    // first run's Retry-After wait below; the push worker and the outbox sweep as usual.
    let mut config = p.redis.queue_config();
    config.backoff_base = Duration::from_millis(200);
    config.backoff_max = Duration::from_secs(2);
    let mut workers: Vec<TestWorker> = ["first", "second"]
        .into_iter()
        .map(|name| {
            let settings = WorkerSettings {
                backend: BackendSettings::new(&unique_name(name), &config),
                concurrency: 1,
                shutdown_grace: Duration::from_secs(5),
            };
            let (ctx, queue) = (Arc::new(p.job_context()), p.redis.calendar_changes());
            TestWorker::spawn(move |stop| {
                jobs::run_calendar_changes_worker(ctx, queue, settings, stop)
            })
        })
        .collect();
    let (ctx, queue, settings) = (
        Arc::new(p.job_context()),
        p.redis.queue(PushCaseChanges::QUEUE),
        p.redis.worker_settings(1),
    );
    workers.push(TestWorker::spawn(move |stop| {
        jobs::run_push_worker(ctx, queue, settings, stop)
    }));
    let (sweep_stop, sweep_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(outbox_sweep::run(
        p.w.db.db(),
        JobQueue::new(p.redis.conn(), &p.redis.queue_config()),
        Duration::from_millis(50),
        async move {
            let _ = sweep_stopped.await;
        },
    ));
    quiet(&p).await;
    let token_before = channel(&p, &channel_id).sync_token.unwrap();
    let retried = p.redis.counter("retried").await;

    // The first run is held up by a rate limit (waited out in the run) ...
    let lists_before = list_requests(&p).len();
    p.w.emu.inject_fault(
        FaultRule::new(FaultKind::Status429, 1)
            .path_contains("/events")
            .method("GET")
            .retry_after(3),
    );
    move_to(&p, &a, day(15));
    eventually(WITHIN, "the first run to be rate limited", || async {
        list_requests(&p)[lists_before..]
            .iter()
            .any(|r| r.status == 429)
    })
    .await;
    // ... while the next change's job reaches the other worker.
    move_to(&p, &b, day(16));
    eventually(
        WITHIN,
        "the second job to find the channel busy",
        || async { p.redis.counter("retried").await > retried },
    )
    .await;
    eventually(WITHIN, "both moves to apply", || async {
        deadline_of(&p.w, &a) == Some(day(15)) && deadline_of(&p.w, &b) == Some(day(16))
    })
    .await;
    quiet(&p).await;

    assert_applied_once(&p, &a, day(1), day(15));
    assert_applied_once(&p, &b, day(2), day(16));
    // Every listing started from a token some run had committed: no run listed from a token
    // that another had already moved past and then committed too.
    let lists = list_requests(&p).split_off(lists_before);
    let from_old = lists
        .iter()
        .filter(|r| r.status == 200 && param(r, "syncToken").as_deref() == Some(&*token_before))
        .count();
    assert_eq!(from_old, 1, "{lists:#?}");
    assert_queue_drained(&p).await;
    let _ = sweep_stop.send(());
    for worker in workers {
        worker.stop().await.unwrap();
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_during_a_running_sync_of_the_channel_has_its_change_applied() {
    let mut p = paused().await;
    let a = linked_deadline(&p.w, DeadlineKind::RfeDue, day(1));
    let b = linked_deadline(&p.w, DeadlineKind::RfiDue, day(2));
    p.watch().await;
    resume(&mut p);
    quiet(&p).await;

    // The first sync lists A's move, then waits at its commit.
    let lock = lock_case(&p, &a);
    move_to(&p, &a, day(17));
    eventually(WITHIN, "the first sync to block at its commit", || async {
        lock_waiters(&p) >= 1
    })
    .await;
    // B moves while it runs: its notification gets a job of its own.
    let enqueued = p.redis.counter("enqueued").await;
    move_to(&p, &b, day(18));
    eventually(WITHIN, "the second notification's job", || async {
        p.redis.counter("enqueued").await > enqueued
    })
    .await;
    assert_eq!(deadline_of(&p.w, &a), Some(day(1)), "still blocked");
    release(lock);

    eventually(WITHIN, "both moves to apply", || async {
        deadline_of(&p.w, &a) == Some(day(17)) && deadline_of(&p.w, &b) == Some(day(18))
    })
    .await;
    quiet(&p).await;
    assert_applied_once(&p, &a, day(1), day(17));
    assert_applied_once(&p, &b, day(2), day(18));
    assert!(
        audit(&p, &b)[0].recorded_at > audit(&p, &a)[0].recorded_at,
        "B came in a later run than the one that was running"
    );
    assert_queue_drained(&p).await;
    p.stop().await;
}

/// The key a child worker seals with: `TOKEN_ENCRYPTION_KEY` below (32 zero bytes).
const CHILD_KEY_B64: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// A `calsync worker` child process, killed (SIGKILL) when dropped, so a failing test leaves
/// no worker behind.
struct ChildWorker(Child);

impl ChildWorker {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ChildWorker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_worker(p: &Pipeline) -> ChildWorker {
    let config = EmulatorConfig::default();
    let child = Command::new(env!("CARGO_BIN_EXE_calsync"))
        .arg("worker")
        .env("DATABASE_URL", p.w.db.url())
        .env("REDIS_URL", p.redis.url())
        .env("QUEUE_NAMESPACE", p.redis.namespace())
        .env("QUEUE_LEASE_MS", "2000")
        .env("JOB_BACKOFF_BASE_MS", "300")
        .env("JOB_BACKOFF_MAX_MS", "3000")
        .env("SYNC_LEASE_SECS", "5")
        .env("WORKER_CONCURRENCY", "2")
        .env("WORKER_NAME", "child")
        .env("RUST_LOG", "error")
        .env("GOOGLE_API_BASE_URL", &p.w.emu.urls().api_base)
        .env("GOOGLE_OAUTH_TOKEN_URL", &p.w.emu.urls().token_url)
        .env("GOOGLE_CLIENT_ID", &config.client_id)
        .env("GOOGLE_CLIENT_SECRET", &config.client_secret)
        .env("TOKEN_ENCRYPTION_KEY", CHILD_KEY_B64)
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    ChildWorker(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_between_fetching_and_committing_leaves_the_change_to_be_applied_once() {
    let p = Pipeline::start_with(PipelineOptions {
        workers: false,
        ..PipelineOptions::default()
    })
    .await;
    let d = linked_deadline(&p.w, DeadlineKind::RfeDue, day(1));
    let channel_id = p.watch().await;
    // The child processes open the refresh token with their own key.
    let cipher = TokenCipher::new(
        1,
        EncryptionKey::from_slice(&[0; 32]).unwrap(),
        BTreeMap::new(),
    );
    google_credential::store_refresh_token(
        &mut p.w.db.conn(),
        &cipher,
        p.w.user_id,
        &p.w.google_user.refresh_token,
        "calendar",
    )
    .unwrap();
    let mut first = spawn_worker(&p);
    quiet(&p).await;
    let token_before = channel(&p, &channel_id).sync_token.unwrap();

    let lock = lock_case(&p, &d);
    let lists_before = list_requests(&p).len();
    move_to(&p, &d, day(23));
    eventually(WITHIN, "the worker to list the change", || async {
        list_requests(&p)[lists_before..]
            .iter()
            .any(|r| r.status == 200 && param(r, "syncToken").as_deref() == Some(&*token_before))
    })
    .await;
    eventually(WITHIN, "the worker to block at its commit", || async {
        lock_waiters(&p) >= 1
    })
    .await;

    first.kill(); // SIGKILL, mid-commit
    release(lock);
    // The dead worker's transaction never commits.
    eventually(WITHIN, "the killed worker's backend to go", || async {
        lock_waiters(&p) == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deadline_of(&p.w, &d), Some(day(1)));
    assert!(audit(&p, &d).is_empty());
    assert_eq!(channel(&p, &channel_id).sync_token.unwrap(), token_before);

    let mut second = spawn_worker(&p);
    eventually(
        WITHIN,
        "the restarted worker to apply the change",
        || async { deadline_of(&p.w, &d) == Some(day(23)) },
    )
    .await;
    quiet(&p).await;
    assert_applied_once(&p, &d, day(1), day(23));
    let row = channel(&p, &channel_id);
    assert_ne!(row.sync_token.as_deref(), Some(&*token_before));
    // Both workers listed from the same committed token; only the second committed.
    let from_old = list_requests(&p)[lists_before..]
        .iter()
        .filter(|r| r.status == 200 && param(r, "syncToken").as_deref() == Some(&*token_before))
        .count();
    assert_eq!(from_old, 2);
    assert_eq!(p.redis.counter("redelivered").await, 1);
    assert_queue_drained(&p).await;
    second.kill();
    p.stop().await;
}
