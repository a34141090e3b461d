//! A large backlog drains: 20,000 jobs waiting (apalis-redis 1.0.0 wedged for good past
//! ~8,000 due jobs), a tenth of them failing once so 2,000 due retries pass through the
//! delayed set and its chunked promotion too.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calsync::retry::Failure;
use futures::StreamExt;

use super::{PROBE_QUEUE, Probe, fail, push};
use crate::helpers::test_redis::{TestRedis, counter, eventually};

const JOBS: u32 = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_20000_jobs_drains() {
    let redis = TestRedis::new();
    let queue = redis.queue(PROBE_QUEUE);
    futures::stream::iter(0..JOBS)
        .for_each_concurrent(256, |n| {
            let q = queue.clone();
            async move { push(&q, n).await }
        })
        .await;
    assert_eq!(queue.depth().await.unwrap().ready, u64::from(JOBS));

    let failed_once = Arc::new(Mutex::new(HashSet::new()));
    let seen = failed_once.clone();
    let mut settings = redis.worker_settings(32);
    settings.backend.retry.base = Duration::from_millis(10);
    settings.backend.retry.cap = Duration::from_millis(100);
    let policy = settings.backend.retry.clone();
    let started = Instant::now();
    let worker = redis.start_worker(PROBE_QUEUE, settings, move |job: Probe, _, attempt| {
        let first_time = job.n.is_multiple_of(10) && seen.lock().unwrap().insert(job.n);
        let policy = policy.clone();
        async move {
            if first_time {
                fail(&policy, "fails once", Failure::Transient, attempt)
            } else {
                Ok(())
            }
        }
    });
    eventually(Duration::from_secs(120), "the backlog to drain", || async {
        counter(&queue, "processed").await == u64::from(JOBS)
    })
    .await;
    eprintln!("drained {JOBS} jobs in {:?}", started.elapsed());
    let depth = queue.depth().await.unwrap();
    assert_eq!(
        (depth.ready, depth.delayed, depth.inflight, depth.dead),
        (0, 0, 0, 0)
    );
    // Each job that failed once went through the delayed set. Delivery is at least once: on a
    // loaded machine an attempt whose lease or result call timed out is retried too.
    let retried = counter(&queue, "retried").await;
    assert!(retried >= u64::from(JOBS / 10), "retried {retried}");
    assert!(retried <= u64::from(JOBS / 10) + 50, "retried {retried}");
    worker.stop().await.unwrap();
}
