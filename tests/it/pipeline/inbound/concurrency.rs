//! Workers racing, a notification during a running sync, a worker killed mid-sync.

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_racing_on_one_channel_apply_each_change_once() {
    let mut p = Pipeline::start_with(PipelineOptions {
        workers: false,
        ..PipelineOptions::default()
    })
    .await;
    let a = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
    let b = linked_deadline(&p.w, DeadlineKind::RfiDue, day(9, 2));
    let channel_id = p.watch().await;
    // Two workers of one job each (as two processes), with a retry budget longer than the
    // first run's Retry-After wait below.
    for _ in 0..2 {
        let mut setup = p.worker_setup();
        setup.worker.concurrency = 1;
        setup.retry.base = Duration::from_millis(200);
        setup.retry.cap = Duration::from_secs(2);
        p.start_worker(setup);
    }
    p.until_idle().await;
    let token_before = channel(&p, &channel_id).sync_token.unwrap();
    let deferred = p.redis.counter("deferred").await;

    // The first run is held up by a rate limit (waited out in the run) ...
    let lists_before = list_requests(&p).len();
    rate_limit_next_list(&p, 3);
    move_to(&p, &a, day(9, 15));
    eventually(WITHIN, "the first run to be rate limited", || async {
        list_requests(&p)[lists_before..]
            .iter()
            .any(|r| r.status == 429)
    })
    .await;
    // ... while the next change's job reaches the other worker.
    move_to(&p, &b, day(9, 16));
    eventually(
        WITHIN,
        "the second job to find the channel busy",
        || async { p.redis.counter("deferred").await > deferred },
    )
    .await;
    eventually(WITHIN, "both moves to apply", || async {
        deadline_of(&p.w, &a) == Some(day(9, 15)) && deadline_of(&p.w, &b) == Some(day(9, 16))
    })
    .await;
    p.until_idle().await;

    assert_applied_once(&p, &a, day(9, 1), day(9, 15));
    assert_applied_once(&p, &b, day(9, 2), day(9, 16));
    // Every listing started from a token some run had committed: no run listed from a token
    // that another had already moved past and then committed too.
    let lists = list_requests(&p).split_off(lists_before);
    let from_old = lists
        .iter()
        .filter(|r| r.status == 200 && param(r, "syncToken").as_deref() == Some(&*token_before))
        .count();
    assert_eq!(from_old, 1, "{lists:#?}");
    assert_queue_drained(&p).await;
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_during_a_running_sync_of_the_channel_has_its_change_applied() {
    let mut p = paused().await;
    let a = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
    let b = linked_deadline(&p.w, DeadlineKind::RfiDue, day(9, 2));
    p.watch().await;
    resume(&mut p);
    p.until_idle().await;

    // The first sync lists A's move, then waits at its commit.
    let lock = lock_case(&p, &a);
    move_to(&p, &a, day(9, 17));
    eventually(WITHIN, "the first sync to block at its commit", || async {
        lock_waiters(&p) >= 1
    })
    .await;
    // B moves while it runs: its notification gets a job of its own.
    let enqueued = p.redis.counter("enqueued").await;
    move_to(&p, &b, day(9, 18));
    eventually(WITHIN, "the second notification's job", || async {
        p.redis.counter("enqueued").await > enqueued
    })
    .await;
    assert_eq!(deadline_of(&p.w, &a), Some(day(9, 1)), "still blocked");
    release(lock);

    eventually(WITHIN, "both moves to apply", || async {
        deadline_of(&p.w, &a) == Some(day(9, 17)) && deadline_of(&p.w, &b) == Some(day(9, 18))
    })
    .await;
    p.until_idle().await;
    assert_applied_once(&p, &a, day(9, 1), day(9, 17));
    assert_applied_once(&p, &b, day(9, 2), day(9, 18));
    assert!(
        audit(&p, &b)[0].recorded_at > audit(&p, &a)[0].recorded_at,
        "B came in a later run than the one that was running"
    );
    assert_queue_drained(&p).await;
    p.until_idle().await;
    p.stop().await;
}

fn spawn_worker(p: &Pipeline) -> ChildProcess {
    let config = EmulatorConfig::default();
    ChildProcess::spawn(
        calsync_worker(p.w.db.url(), p.redis.url(), p.redis.namespace())
            .env("JOB_BACKOFF_BASE_MS", "300")
            .env("JOB_BACKOFF_MAX_MS", "3000")
            .env("SYNC_LEASE_SECS", "5")
            .env("GOOGLE_API_BASE_URL", &p.w.emu.urls().api_base)
            .env("GOOGLE_OAUTH_TOKEN_URL", &p.w.emu.urls().token_url)
            .env("GOOGLE_CLIENT_ID", &config.client_id)
            .env("GOOGLE_CLIENT_SECRET", &config.client_secret),
        "calsync worker",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_between_fetching_and_committing_leaves_the_change_to_be_applied_once() {
    let p = Pipeline::start_with(PipelineOptions {
        workers: false,
        ..PipelineOptions::default()
    })
    .await;
    let d = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
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
    p.until_idle().await;
    let token_before = channel(&p, &channel_id).sync_token.unwrap();

    let lock = lock_case(&p, &d);
    let lists_before = list_requests(&p).len();
    move_to(&p, &d, day(9, 23));
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
    assert_eq!(deadline_of(&p.w, &d), Some(day(9, 1)));
    assert!(audit(&p, &d).is_empty());
    assert_eq!(channel(&p, &channel_id).sync_token.unwrap(), token_before);

    let mut second = spawn_worker(&p);
    eventually(
        WITHIN,
        "the restarted worker to apply the change",
        || async { deadline_of(&p.w, &d) == Some(day(9, 23)) },
    )
    .await;
    p.until_idle().await;
    assert_applied_once(&p, &d, day(9, 1), day(9, 23));
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
    p.until_idle().await;
    p.stop().await;
}
