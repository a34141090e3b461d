//! Pickup latency while both cores are kept busy (apalis-redis 1.0.0's poll strategy lost
//! its wake-ups under CPU load: p50 went from ~110 ms to ~24 s).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{PROBE_QUEUE, Probe, push};
use crate::helpers::test_redis::TestRedis;

const SAMPLES: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickup_p50_is_under_100ms_with_both_cores_busy() {
    let redis = TestRedis::new();
    let queue = redis.queue(PROBE_QUEUE);
    let (tx, mut rx) = mpsc::unbounded_channel::<(u32, Instant)>();
    let worker = redis.start_worker(
        PROBE_QUEUE,
        redis.worker_settings(4),
        move |job: Probe, _, _| {
            let _ = tx.send((job.n, Instant::now()));
            async { Ok(()) }
        },
    );

    let stop = Arc::new(AtomicBool::new(false));
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let spinners: Vec<_> = (0..cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();

    let mut latencies = Vec::with_capacity(SAMPLES);
    for n in 0..SAMPLES as u32 {
        let sent = Instant::now();
        push(&queue, n).await;
        let (got, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("a job was not picked up within 30 s")
            .unwrap();
        assert_eq!(got, n);
        latencies.push(at - sent);
        // Let the worker go idle again, so each sample measures a pickup from idle polling.
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for s in spinners {
        s.join().unwrap();
    }
    latencies.sort();
    let p50 = latencies[SAMPLES / 2];
    let max = latencies[SAMPLES - 1];
    eprintln!("pickup with {cores} busy cores: p50 {p50:?}, max {max:?}");
    assert!(p50 < Duration::from_millis(100), "p50 {p50:?}");
    worker.stop().await.unwrap();
}
