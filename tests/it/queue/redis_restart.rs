//! A Redis restart does not leave a worker silently dead: it keeps polling, logs the
//! failures, and takes jobs again once Redis is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::{PROBE_QUEUE, Probe};
use crate::helpers::test_redis::{TestRedis, ThrowawayRedis, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_recovers_after_redis_restarts() {
    let mut server = ThrowawayRedis::start();
    let redis = TestRedis::at(&server.url());
    let queue = redis.queue(PROBE_QUEUE);
    let done = Arc::new(AtomicU32::new(0));
    let d = done.clone();
    let worker = redis.start_worker(
        PROBE_QUEUE,
        redis.worker_settings(2),
        move |_: Probe, _, _| {
            d.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        },
    );
    let push = |n: u32| {
        let q = queue.clone();
        async move {
            let payload = serde_json::to_string(&Probe { n }).unwrap();
            // The producer's first command after a reconnect may fail; retry like a client.
            for _ in 0..50 {
                if q.enqueue(&payload, None, None).await.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("could not enqueue after the restart");
        }
    };
    push(1).await;
    eventually(Duration::from_secs(10), "the first job", || async {
        done.load(Ordering::SeqCst) == 1
    })
    .await;

    server.kill();
    // Down long enough for many failed polls.
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.restart();

    push(2).await;
    let took = eventually(
        Duration::from_secs(20),
        "a job after the restart",
        || async { done.load(Ordering::SeqCst) == 2 },
    )
    .await;
    eprintln!("first job after the Redis restart ran {took:?} after it was enqueued");
    worker.stop().await.unwrap();
}
