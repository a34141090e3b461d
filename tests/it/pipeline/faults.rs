//! The bound after a fault: every edit made before or during a single fault (a worker
//! SIGKILLed mid-sync, PostgreSQL refusing connections for 5 s, Redis restarted) is applied
//! within 15 s of the fault's end, with the default leases and retry policy.

use std::time::{Duration, Instant};

use calsync::db::models::google_credential;
use calsync::domain::DeadlineKind;
use calsync::retry::RetryPolicy;
use chrono::NaiveDate;
use diesel::prelude::*;
use gcal_emulator::EmulatorConfig;
use nix::sys::signal::Signal;

use super::inbound::support::{
    ChildProcess, LinkedDeadline, Pipeline, PipelineOptions, calsync_worker, day, deadline_of,
    eventually, linked_deadline, lock_case, lock_waiters, move_to,
};
use crate::helpers::test_db;
use crate::helpers::test_redis::ThrowawayRedis;

const BOUND: Duration = Duration::from_secs(15);

fn event_date(p: &Pipeline, d: &LinkedDeadline) -> Option<NaiveDate> {
    let event = p.w.emu.event(p.w.calendar(), &d.event_id)?;
    event["start"]["date"].as_str()?.parse().ok()
}

/// Waits until `done`, failing if that takes longer than `BOUND` from `since`; returns how
/// long it took.
async fn within_bound(since: Instant, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    loop {
        if done() {
            let took = since.elapsed();
            eprintln!("{what}: {took:?} after the fault ended");
            return took;
        }
        assert!(since.elapsed() < BOUND, "{what} not within {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A `calsync worker` process with the default leases (SYNC_LEASE_SECS, QUEUE_LEASE_MS).
fn worker_process(p: &Pipeline) -> ChildProcess {
    let config = EmulatorConfig::default();
    let mut command = calsync_worker(p.w.db.url(), p.redis.url(), p.redis.namespace());
    command
        .env_remove("QUEUE_LEASE_MS")
        .env("GOOGLE_API_BASE_URL", &p.w.emu.urls().api_base)
        .env("GOOGLE_OAUTH_TOKEN_URL", &p.w.emu.urls().token_url)
        .env("GOOGLE_CLIENT_ID", &config.client_id)
        .env("GOOGLE_CLIENT_SECRET", &config.client_secret);
    ChildProcess::spawn(&mut command, "calsync worker")
}

/// The user's credentials, sealed with the key child workers open them with.
fn credentials_for_child_workers(p: &Pipeline) {
    let cipher = calsync::crypto::TokenCipher::new(
        1,
        calsync::crypto::EncryptionKey::from_slice(&[0; 32]).unwrap(),
        std::collections::BTreeMap::new(),
    );
    google_credential::store_refresh_token(
        &mut p.w.db.conn(),
        &cipher,
        p.w.user_id,
        &p.w.google_user.refresh_token,
        "calendar",
    )
    .unwrap();
}

/// A watched calendar with two linked deadlines and no worker yet.
async fn two_watched_deadlines(
    options: PipelineOptions,
) -> (Pipeline, LinkedDeadline, LinkedDeadline) {
    let p = Pipeline::start_with(PipelineOptions {
        workers: false,
        ..options
    })
    .await;
    let first = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
    let second = linked_deadline(&p.w, DeadlineKind::RfiDue, day(9, 2));
    p.watch().await;
    (p, first, second)
}

/// One in-process worker with the production retry policy and leases, not the test's quick
/// ones; returns once the watch's own work is done.
async fn start_production_worker(p: &mut Pipeline) {
    let mut setup = p.worker_setup();
    setup.retry = RetryPolicy::default();
    setup.sync.settings = calsync::config::SyncSettings::default();
    p.start_worker(setup);
    p.until_idle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_sync_delays_no_edit_more_than_the_bound() {
    let (p, first, second) = two_watched_deadlines(PipelineOptions::default()).await;
    credentials_for_child_workers(&p);
    let mut doomed = worker_process(&p);
    p.until_idle().await;

    // The first worker lists the first move and blocks at its commit, holding the
    // calendar's lease; the second worker is up, and a second edit comes in meanwhile.
    let lock = lock_case(&p, &first);
    move_to(&p, &first, day(9, 21));
    eventually(
        Duration::from_secs(20),
        "the sync to block at its commit",
        || async { lock_waiters(&p) >= 1 },
    )
    .await;
    let _survivor = worker_process(&p);
    tokio::time::sleep(Duration::from_millis(500)).await;
    move_to(&p, &second, day(9, 22));
    tokio::time::sleep(Duration::from_millis(300)).await;

    doomed.signal(Signal::SIGKILL);
    let killed = Instant::now();
    doomed.kill();
    super::inbound::support::release(lock);
    within_bound(killed, "both moves applied", || {
        deadline_of(&p.w, &first) == Some(day(9, 21))
            && deadline_of(&p.w, &second) == Some(day(9, 22))
    })
    .await;
    p.until_idle().await;
    assert_eq!(p.redis.depth().await.dead, 0);
    p.stop().await;
}

/// Refuses every new connection to the test's database and ends the open ones, until
/// dropped (or `end`ed).
struct DatabaseOutage {
    name: String,
}

impl DatabaseOutage {
    fn begin(url: &str) -> Self {
        let name = url
            .rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let mut admin = PgConnection::establish(&test_db::server_url()).unwrap();
        for sql in [
            format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ),
        ] {
            diesel::sql_query(sql).execute(&mut admin).unwrap();
        }
        Self { name }
    }

    fn end(self) {}
}

impl Drop for DatabaseOutage {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&test_db::server_url()) {
            let _ = diesel::sql_query(format!(
                "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_seconds_without_postgresql_delay_no_edit_more_than_the_bound() {
    let (mut p, in_google, in_tracker) = two_watched_deadlines(PipelineOptions::default()).await;
    start_production_worker(&mut p).await;

    // A tracker change on its way out as the database goes away; a move in Google while it
    // is away (its notification reaches the webhook, which needs no database).
    super::outbound::set_deadline(
        &mut p.w.db.conn(),
        in_tracker.case_id,
        in_tracker.kind,
        Some(day(9, 27)),
    );
    let outage = DatabaseOutage::begin(p.w.db.url());
    move_to(&p, &in_google, day(9, 26));
    tokio::time::sleep(Duration::from_secs(5)).await;
    outage.end();
    let ended = Instant::now();
    within_bound(ended, "both edits applied", || {
        deadline_of(&p.w, &in_google) == Some(day(9, 26))
            && event_date(&p, &in_tracker) == Some(day(9, 27))
    })
    .await;
    p.until_idle().await;
    assert_eq!(p.redis.depth().await.dead, 0);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_delays_no_edit_more_than_the_bound() {
    let mut redis = ThrowawayRedis::start_persistent();
    let (mut p, in_google, in_tracker) = two_watched_deadlines(PipelineOptions {
        // Google retries a notification that was answered 503, with growing waits.
        emulator: EmulatorConfig {
            notification_retry_delays: EmulatorConfig::standalone_retry_delays(),
            ..EmulatorConfig::default()
        },
        redis_url: Some(redis.url()),
        ..PipelineOptions::default()
    })
    .await;
    start_production_worker(&mut p).await;

    redis.kill();
    move_to(&p, &in_google, day(9, 24));
    super::outbound::set_deadline(
        &mut p.w.db.conn(),
        in_tracker.case_id,
        in_tracker.kind,
        Some(day(9, 25)),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.restart();
    let ended = Instant::now();
    within_bound(ended, "both edits applied", || {
        deadline_of(&p.w, &in_google) == Some(day(9, 24))
            && event_date(&p, &in_tracker) == Some(day(9, 25))
    })
    .await;
    p.until_idle().await;
    p.stop().await;
}
