//! Retry versus abort, as the retry policy decides and the queue carries out: a permanent
//! error is never retried; a transient one is retried after the policy's backoff until it
//! succeeds or runs out of attempts; a busy one waits without using an attempt.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calsync::retry::Failure;

use super::{PROBE_QUEUE, Probe, fail, push};
use crate::helpers::test_redis::{TestRedis, counter, eventually, retry_policy};

#[tokio::test]
async fn a_permanent_error_is_not_retried() {
    let redis = TestRedis::new();
    redis.expect_jobs_left(); // the dead set is the point
    let queue = redis.queue(PROBE_QUEUE);
    let runs = Arc::new(Mutex::new(0u32));
    let r = runs.clone();
    let worker = redis.start_worker(
        PROBE_QUEUE,
        redis.worker_settings(2),
        move |_: Probe, _, attempt| {
            let r = r.clone();
            async move {
                *r.lock().unwrap() += 1;
                fail(
                    &retry_policy(),
                    "the calendar was deleted",
                    Failure::Permanent,
                    attempt,
                )
            }
        },
    );
    push(&queue, 1).await;
    eventually(Duration::from_secs(10), "the job to be dead", || async {
        queue.depth().await.unwrap().dead == 1
    })
    .await;
    // Longer than several backoff periods: nothing runs again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(*runs.lock().unwrap(), 1);
    assert_eq!(counter(&queue, "retried").await, 0);
    let dead = queue.dead_jobs().await.unwrap();
    assert!(dead[0].2.contains("the calendar was deleted"), "{dead:?}");
    let depth = queue.depth().await.unwrap();
    assert_eq!((depth.ready, depth.delayed, depth.inflight), (0, 0, 0));
    worker.stop().await.unwrap();
}

#[tokio::test]
async fn a_panicking_job_goes_to_the_dead_set() {
    let redis = TestRedis::new();
    redis.expect_jobs_left(); // the dead set is the point
    let queue = redis.queue(PROBE_QUEUE);
    let worker = redis.start_worker(
        PROBE_QUEUE,
        redis.worker_settings(1),
        |_: Probe, _, _| async {
            if std::hint::black_box(true) {
                panic!("bug in a handler");
            }
            Ok(())
        },
    );
    push(&queue, 1).await;
    eventually(Duration::from_secs(10), "the job to be dead", || async {
        queue.depth().await.unwrap().dead == 1
    })
    .await;
    // The worker survives its job's panic and takes the next job.
    push(&queue, 2).await;
    eventually(
        Duration::from_secs(10),
        "the second job to be dead too",
        || async { queue.depth().await.unwrap().dead == 2 },
    )
    .await;
    worker.stop().await.unwrap();
}

#[tokio::test]
async fn a_transient_error_is_retried_with_growing_delays_until_it_succeeds() {
    let redis = TestRedis::new();
    let queue = redis.queue(PROBE_QUEUE);
    let runs = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let r = runs.clone();
    let worker = redis.start_worker(
        PROBE_QUEUE,
        redis.worker_settings(2),
        move |_: Probe, _, attempt| {
            let r = r.clone();
            async move {
                let n = {
                    let mut v = r.lock().unwrap();
                    v.push(Instant::now());
                    v.len()
                };
                if n < 3 {
                    fail(
                        &retry_policy(),
                        "Google answered 503",
                        Failure::Transient,
                        attempt,
                    )
                } else {
                    Ok(())
                }
            }
        },
    );
    push(&queue, 1).await;
    eventually(Duration::from_secs(10), "the job to succeed", || async {
        counter(&queue, "processed").await == 1
    })
    .await;
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 3);
    assert_eq!(counter(&queue, "retried").await, 2);
    // Base 50 ms, doubling, full jitter: at most 50 ms, then at most 100 ms (plus the
    // worker's 25 ms idle poll and a scheduling margin for two busy cores).
    let (gap1, gap2) = (runs[1] - runs[0], runs[2] - runs[1]);
    assert!(gap1 <= Duration::from_millis(50 + 25 + 250), "{gap1:?}");
    assert!(gap2 <= Duration::from_millis(100 + 25 + 250), "{gap2:?}");
    worker.stop().await.unwrap();
}

#[tokio::test]
async fn a_job_that_keeps_failing_goes_dead_after_its_attempts() {
    let redis = TestRedis::new();
    redis.expect_jobs_left(); // the dead set is the point
    let queue = redis.queue(PROBE_QUEUE);
    let mut settings = redis.worker_settings(1);
    settings.backend.retry.max_attempts = 3;
    let policy = settings.backend.retry.clone();
    let runs = Arc::new(Mutex::new(0u32));
    let r = runs.clone();
    let worker = redis.start_worker(PROBE_QUEUE, settings, move |_: Probe, _, attempt| {
        let (r, policy) = (r.clone(), policy.clone());
        async move {
            *r.lock().unwrap() += 1;
            fail(&policy, "still down", Failure::Transient, attempt)
        }
    });
    push(&queue, 1).await;
    eventually(Duration::from_secs(10), "the job to be dead", || async {
        queue.depth().await.unwrap().dead == 1
    })
    .await;
    assert_eq!(*runs.lock().unwrap(), 3);
    assert_eq!(counter(&queue, "retried").await, 2);
    worker.stop().await.unwrap();
}

#[tokio::test]
async fn a_busy_job_waits_without_using_its_attempts() {
    let redis = TestRedis::new();
    let queue = redis.queue(PROBE_QUEUE);
    let mut settings = redis.worker_settings(1);
    settings.backend.retry.max_attempts = 2;
    settings.backend.retry.defer = Duration::from_millis(20);
    let policy = settings.backend.retry.clone();
    let attempts = Arc::new(Mutex::new(Vec::<u32>::new()));
    let seen = attempts.clone();
    let worker = redis.start_worker(PROBE_QUEUE, settings, move |_: Probe, _, attempt| {
        let (seen, policy) = (seen.clone(), policy.clone());
        async move {
            let n = {
                let mut v = seen.lock().unwrap();
                v.push(attempt);
                v.len()
            };
            if n <= 5 {
                fail(
                    &policy,
                    "another worker holds the channel",
                    Failure::Busy,
                    attempt,
                )
            } else {
                Ok(())
            }
        }
    });
    push(&queue, 1).await;
    eventually(Duration::from_secs(10), "the job to succeed", || async {
        counter(&queue, "processed").await == 1
    })
    .await;
    // Five busy runs with two attempts allowed, and every run was still the first attempt.
    assert_eq!(*attempts.lock().unwrap(), vec![1; 6]);
    assert_eq!(counter(&queue, "deferred").await, 5);
    assert_eq!(queue.depth().await.unwrap().dead, 0);
    worker.stop().await.unwrap();
}
