//! Google failing: rate limits, a revoked grant, a calendar that is gone.

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_retried_and_the_change_then_applied_once() {
    let mut p = paused().await;
    let a = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
    let b = linked_deadline(&p.w, DeadlineKind::RfiDue, day(9, 2));
    p.watch().await;
    // Retry-After honoured up to 300 ms here, and runs that wait at most 100 ms: a long
    // Retry-After ends the run and the queue waits it out.
    let mut setup = p.worker_setup();
    setup.retry.retry_after_cap = Duration::from_millis(300);
    setup.retry.in_run_max_wait = Duration::from_millis(100);
    p.start_worker(setup);
    p.until_idle().await;
    let retried = p.redis.counter("retried").await;

    // A short Retry-After: waited out inside the run.
    rate_limit_next_list(&p, 0);
    move_to(&p, &a, day(9, 21));
    eventually(WITHIN, "the first move to apply", || async {
        deadline_of(&p.w, &a) == Some(day(9, 21))
    })
    .await;
    p.until_idle().await;
    assert_eq!(
        p.redis.counter("retried").await,
        retried,
        "retried within the run"
    );

    // A long one: the run gives up, the queue retries the job later, and it succeeds.
    let lists_before = list_requests(&p).len();
    rate_limit_next_list(&p, 120);
    move_to(&p, &b, day(9, 22));
    eventually(WITHIN, "the second move to apply", || async {
        deadline_of(&p.w, &b) == Some(day(9, 22))
    })
    .await;
    p.until_idle().await;

    let statuses: Vec<u16> = list_requests(&p)
        .split_off(lists_before)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(&statuses[..2], &[429, 200], "{statuses:?}");
    assert_eq!(p.redis.counter("retried").await, retried + 1);
    assert_applied_once(&p, &a, day(9, 1), day(9, 21));
    assert_applied_once(&p, &b, day(9, 2), day(9, 22));
    assert_queue_drained(&p).await;
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_grant_parks_the_channel_without_retrying_or_calling_google_again() {
    let mut p = paused().await;
    let d = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
    let channel_id = p.watch().await;
    resume(&mut p);
    p.until_idle().await;
    let retried = p.redis.counter("retried").await;

    p.w.emu
        .revoke_grant(&p.w.google_user.refresh_token)
        .unwrap();
    p.w.emu.expire_access_tokens();
    move_to(&p, &d, day(9, 25));
    eventually(WITHIN, "the channel to need re-authorisation", || async {
        channel(&p, &channel_id).status == ChannelStatus::NeedsReauth
    })
    .await;
    p.until_idle().await;
    assert_eq!(
        google_credential::find(&mut p.w.db.conn(), p.w.user_id)
            .unwrap()
            .unwrap()
            .status,
        CredentialStatus::Revoked
    );
    assert_eq!(deadline_of(&p.w, &d), Some(day(9, 1)));
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
    move_to(&p, &d, day(9, 26));
    eventually(WITHIN, "the next notification to be delivered", || async {
        p.w.emu.notifications()[notified..]
            .iter()
            .any(|n| n.status() == Some(200))
    })
    .await;
    p.until_idle().await;
    assert_eq!(list_requests(&p).len(), lists);
    assert_eq!(p.w.count_requests("POST", "/token"), tokens);
    assert_eq!(deadline_of(&p.w, &d), Some(day(9, 1)));
    assert_queue_drained(&p).await;
    p.until_idle().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_that_is_gone_stops_its_channel() {
    let mut p = paused().await;
    let d = linked_deadline(&p.w, DeadlineKind::RfeDue, day(9, 1));
    let channel_id = p.watch().await;
    resume(&mut p);
    p.until_idle().await;
    let retried = p.redis.counter("retried").await;
    // The channel now points at a calendar Google does not have (deleted meanwhile).
    sql_query(format!(
        "UPDATE calendar_sync_channels SET calendar_id = 'gone-{}@example.com'",
        uuid::Uuid::new_v4().simple()
    ))
    .execute(&mut p.w.db.conn())
    .unwrap();

    move_to(&p, &d, day(9, 9));
    eventually(WITHIN, "the channel to be stopped", || async {
        channel(&p, &channel_id).status == ChannelStatus::Stopped
    })
    .await;
    p.until_idle().await;
    assert!(list_requests(&p).iter().any(|r| r.status == 404));
    assert_eq!(p.redis.counter("retried").await, retried);
    assert_eq!(deadline_of(&p.w, &d), Some(day(9, 1)));
    assert_queue_drained(&p).await;
    p.until_idle().await;
    p.stop().await;
}
