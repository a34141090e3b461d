//! Retry versus abort: a permanent error is never retried; a transient one is retried with
//! growing, jittered delays until it succeeds or runs out of attempts.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use calsync::jobs::JobError;

use super::{PROBE_QUEUE, Probe, push};
use crate::helpers::test_redis::{TestRedis, counter, eventually};

#[tokio::test]
async fn a_permanent_error_is_not_retried() {
    let redis = TestRedis::new();
    let queue = redis.queue(PROBE_QUEUE);
    let runs = Arc::new(Mutex::new(0u32));
    let r = runs.clone();
    let worker = redis.start_worker(PROBE_QUEUE, redis.worker_settings(2), move |_: Probe, _| {
        let r = r.clone();
        async move {
            *r.lock().unwrap() += 1;
            Err(JobError::Permanent(anyhow!("the calendar was deleted")))
        }
    });
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
    let queue = redis.queue(PROBE_QUEUE);
    let worker = redis.start_worker(PROBE_QUEUE, redis.worker_settings(1), |_: Probe, _| async {
        if std::hint::black_box(true) {
            panic!("bug in a handler");
        }
        Ok(())
    });
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
    let worker = redis.start_worker(PROBE_QUEUE, redis.worker_settings(2), move |_: Probe, _| {
        let r = r.clone();
        async move {
            let n = {
                let mut v = r.lock().unwrap();
                v.push(Instant::now());
                v.len()
            };
            if n < 3 {
                Err(JobError::Transient(anyhow!("Google answered 503")))
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
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 3);
    assert_eq!(counter(&queue, "retried").await, 2);
    // Base 50 ms, doubling, equal jitter: at least 25 ms, then at least 50 ms.
    let (gap1, gap2) = (runs[1] - runs[0], runs[2] - runs[1]);
    assert!(gap1 >= Duration::from_millis(25), "{gap1:?}");
    assert!(gap2 >= Duration::from_millis(50), "{gap2:?}");
    worker.stop().await.unwrap();
}

#[tokio::test]
async fn a_job_that_keeps_failing_goes_dead_after_its_attempts() {
    let redis = TestRedis::new();
    let queue = redis.queue(PROBE_QUEUE);
    let mut settings = redis.worker_settings(1);
    settings.backend.max_attempts = 3;
    let runs = Arc::new(Mutex::new(0u32));
    let r = runs.clone();
    let worker = redis.start_worker(PROBE_QUEUE, settings, move |_: Probe, _| {
        let r = r.clone();
        async move {
            *r.lock().unwrap() += 1;
            Err(JobError::Transient(anyhow!("still down")))
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
