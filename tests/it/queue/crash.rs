//! A worker process killed mid-job, and one stopped with SIGTERM: the job is never lost.
//! Workers run as real `calsync worker` child processes; "mid-job" is a job blocked on a
//! row lock the test holds (a database that is slow to answer).

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test;
use calsync::db::models::calendar_channel as store;
use calsync::http;
use diesel::pg::PgConnection;
use diesel::{RunQueryDsl, sql_query};

use nix::sys::signal::Signal;

use crate::helpers::process::{ChildProcess, calsync_worker};
use crate::helpers::test_app::{TestApp, send};
use crate::helpers::test_redis::eventually;

fn spawn_worker(t: &TestApp, grace_secs: u32) -> ChildProcess {
    ChildProcess::spawn(
        calsync_worker(t.db.url(), t.redis.url(), t.redis.namespace())
            .env("WORKER_SHUTDOWN_GRACE_SECS", grace_secs.to_string())
            .env("RUST_LOG", "warn"),
        "calsync worker",
    )
}

/// Holds the channel row's lock so a job updating it blocks until `release`.
fn lock_row(t: &TestApp, channel_id: &str) -> PgConnection {
    let mut conn = t.db.conn();
    sql_query("BEGIN").execute(&mut conn).unwrap();
    sql_query(format!(
        "SELECT 1 FROM calendar_sync_channels WHERE channel_id = '{channel_id}' FOR UPDATE"
    ))
    .execute(&mut conn)
    .unwrap();
    conn
}

fn release(mut lock: PgConnection) {
    sql_query("ROLLBACK").execute(&mut lock).unwrap();
}

/// Enqueues a notification through HTTP and waits until a worker has it in flight.
async fn job_in_flight(t: &TestApp, channel_id: &str) {
    let app = test::init_service(http::app(t.state.clone())).await;
    let (status, _) = send(&app, t.notification(channel_id, "exists", 21).to_request()).await;
    assert_eq!(status, StatusCode::OK);
    eventually(
        Duration::from_secs(20),
        "the worker to lease the job",
        || async { t.redis.depth().await.inflight == 1 },
    )
    .await;
    // Let the job reach the blocked UPDATE.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_has_its_job_run_again_by_another_worker() {
    let t = TestApp::new();
    let chan = t.insert_channel();
    let lock = lock_row(&t, &chan);
    let mut child = spawn_worker(&t, 30);
    job_in_flight(&t, &chan).await;

    child.kill(); // SIGKILL: no chance to hand anything back
    let killed_at = Instant::now();
    release(lock);
    assert_eq!(t.redis.counter("processed").await, 0);

    let worker = t.start_worker(1);
    eventually(
        Duration::from_secs(60),
        "another worker to complete the job",
        || async { t.redis.counter("processed").await == 1 },
    )
    .await;
    eprintln!(
        "job re-ran and completed {:?} after the kill",
        killed_at.elapsed()
    );
    assert!(killed_at.elapsed() < Duration::from_secs(60));
    assert_eq!(t.redis.counter("redelivered").await, 1);
    let row = store::find_by_channel_id(&mut t.db.conn(), &chan)
        .unwrap()
        .unwrap();
    assert_eq!(row.last_message_number, Some(21));
    let depth = t.redis.depth().await;
    assert_eq!(
        (depth.ready, depth.inflight, depth.delayed, depth.dead),
        (0, 0, 0, 0)
    );
    worker.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_running_job_finish_then_exits_zero() {
    let t = TestApp::new();
    let chan = t.insert_channel();
    let lock = lock_row(&t, &chan);
    let mut child = spawn_worker(&t, 20);
    job_in_flight(&t, &chan).await;

    child.signal(Signal::SIGTERM);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(child.is_running(), "exited before its job finished");
    release(lock);
    let status = child.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "{status}");
    assert_eq!(t.redis.counter("processed").await, 1);
    let depth = t.redis.depth().await;
    assert_eq!((depth.ready, depth.inflight), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_a_job_that_outlasts_the_grace_period_back_to_the_queue() {
    let t = TestApp::new();
    let chan = t.insert_channel();
    let lock = lock_row(&t, &chan);
    let mut child = spawn_worker(&t, 1);
    job_in_flight(&t, &chan).await;

    child.signal(Signal::SIGTERM);
    let status = child.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "{status}");
    let depth = t.redis.depth().await;
    assert_eq!(
        (depth.ready, depth.inflight),
        (1, 0),
        "the job is waiting again"
    );
    assert_eq!(t.redis.counter("released").await, 1);
    release(lock);

    let worker = t.start_worker(1);
    eventually(Duration::from_secs(10), "the job to complete", || async {
        t.redis.counter("processed").await == 1
    })
    .await;
    worker.stop().await.unwrap();
}
