//! Workers racing, a notification during a running sync, a worker killed mid-sync.

use super::support::*;

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
                jobs::run_job_worker::<
                    calsync::jobs::process_calendar_changes::ProcessCalendarChanges,
                >(ctx, queue, settings, stop)
            })
        })
        .collect();
    let (ctx, queue, settings) = (
        Arc::new(p.job_context()),
        p.redis.queue(PushCaseChanges::QUEUE),
        p.redis.worker_settings(1),
    );
    workers.push(TestWorker::spawn(move |stop| {
        jobs::run_job_worker::<calsync::jobs::push_case_changes::PushCaseChanges>(
            ctx, queue, settings, stop,
        )
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
    rate_limit_next_list(&p, 3);
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
