//! Dedup by the highest message number per channel: one small Redis key per channel however
//! many notifications arrive, and the rule "a number at or below the highest recorded is
//! covered by the job it went to".

use std::time::Duration;

use calsync::jobs::process_calendar_changes::ProcessCalendarChanges;
use calsync::queue::{EnqueueOutcome, Record, RedisQueue};

use crate::helpers::test_redis::TestRedis;

const TTL: Duration = Duration::from_secs(604_800);

fn payload(channel: &str, number: i64) -> String {
    serde_json::to_string(&ProcessCalendarChanges {
        channel_id: channel.to_owned(),
        resource_id: "res-1".to_owned(),
        message_number: number,
        received_at: chrono::Utc::now(),
    })
    .unwrap()
}

async fn record_one(queue: &RedisQueue, channel: &str, number: i64) -> EnqueueOutcome {
    let entry = Record {
        channel: channel.to_owned(),
        message_number: number,
        payload: payload(channel, number),
    };
    queue.record(&[entry], TTL).await.unwrap().remove(0)
}

/// Every key of the test's namespace.
fn namespace_keys(redis: &TestRedis) -> Vec<String> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    redis::cmd("SCAN")
        .cursor_arg(0)
        .arg("MATCH")
        .arg(format!("{}:*", redis.namespace()))
        .arg("COUNT")
        .arg(1000)
        .clone()
        .iter::<String>(&mut conn)
        .unwrap()
        .filter_map(Result::ok)
        .collect()
}

/// `MEMORY USAGE` of every key of the test's namespace, the `chan:` keys summed as one.
fn namespace_memory(redis: &TestRedis) -> std::collections::BTreeMap<String, u64> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let keys = namespace_keys(redis);
    let mut pipe = redis::pipe();
    for k in &keys {
        pipe.cmd("MEMORY").arg("USAGE").arg(k).arg("SAMPLES").arg(0);
    }
    let sizes: Vec<Option<u64>> = pipe.query(&mut conn).unwrap();
    let mut by_kind = std::collections::BTreeMap::new();
    for (key, size) in keys.iter().zip(sizes) {
        let kind = if key.contains(":chan:") {
            "chan:*"
        } else {
            key.rsplit(':').next().unwrap()
        };
        *by_kind.entry(kind.to_owned()).or_insert(0) += size.unwrap_or(0);
    }
    by_kind
}

fn keys_in(redis: &TestRedis) -> usize {
    namespace_keys(redis).len()
}

fn total(sizes: &std::collections::BTreeMap<String, u64>) -> u64 {
    sizes.values().sum()
}

#[actix_web::test]
async fn one_small_key_per_channel_whatever_the_traffic() {
    const CHANNELS: usize = 1_000;
    const ROUNDS: i64 = 1_000;
    let redis = TestRedis::new();
    redis.expect_jobs_left();
    let queue = redis.calendar_changes();
    let channels: Vec<String> = (0..CHANNELS)
        .map(|i| format!("{}-{i:04}", uuid::Uuid::new_v4()))
        .collect();
    let payloads: Vec<String> = channels.iter().map(|c| payload(c, 1)).collect();
    let round = |number: i64| -> Vec<Record> {
        channels
            .iter()
            .zip(&payloads)
            .map(|(c, p)| Record {
                channel: c.clone(),
                message_number: number,
                payload: p.clone(),
            })
            .collect()
    };

    // Round 1 creates each channel's state and its waiting job.
    let first = queue.record(&round(1), TTL).await.unwrap();
    assert!(
        first
            .iter()
            .all(|o| matches!(o, EnqueueOutcome::Accepted { .. }))
    );
    let first_sizes = namespace_memory(&redis);
    let after_first = total(&first_sizes);
    let keys_first = keys_in(&redis);

    // A worker takes every job halfway, so the rest of the traffic also creates new jobs;
    // every tenth round, Google's retries of an earlier number ride along as duplicates.
    let mut notifications = CHANNELS as u64;
    for number in 2..=ROUNDS {
        if number == ROUNDS / 2 {
            while let Some(job) = queue.lease("w", Duration::from_secs(60)).await.unwrap() {
                queue
                    .finish(&job.id, "w", calsync::queue::store::Finish::Done, "")
                    .await
                    .unwrap();
            }
        }
        queue.record(&round(number), TTL).await.unwrap();
        notifications += CHANNELS as u64;
        if number % 10 == 0 {
            let repeats = queue.record(&round(number - 5), TTL).await.unwrap();
            assert!(repeats.iter().all(|o| *o == EnqueueOutcome::Duplicate));
            notifications += CHANNELS as u64;
        }
    }
    let sizes = namespace_memory(&redis);
    let after_all = total(&sizes);
    let keys_all = keys_in(&redis);

    assert!(notifications >= 1_000_000);
    assert_eq!(
        redis.counter("enqueued").await,
        2 * CHANNELS as u64,
        "one job per channel, then one more after the worker took them"
    );
    assert!(
        keys_all <= keys_first + 4,
        "no key per notification: {keys_first} keys after the first round, {keys_all} after all"
    );
    let per_channel = after_all as f64 / CHANNELS as f64;
    let growth = (after_all as f64 - after_first as f64) / CHANNELS as f64;
    eprintln!("Redis memory by key: {sizes:?}");
    eprintln!(
        "Redis memory: {per_channel:.0} B per channel after {notifications} notifications \
         (state and one waiting job each), growth since the first round {growth:.1} B per channel"
    );
    let state =
        (sizes["chan:*"] + sizes.get("channel_of").copied().unwrap_or(0)) as f64 / CHANNELS as f64;
    assert!(
        state < 400.0,
        "{state:.0} bytes of dedup and coalescing state per channel"
    );
    assert!(
        per_channel < 700.0,
        "{per_channel:.0} bytes per channel with its waiting job"
    );
    assert!(growth < 32.0, "{growth:.1} bytes per channel of growth");
    // The state itself is one small hash per channel.
    let mut conn = redis.conn();
    let one: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(queue.channel_key(&channels[0]))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(one < 300, "{one} bytes for one channel's key");
}

#[actix_web::test]
async fn a_number_at_or_below_the_highest_is_covered_by_the_job_it_went_to() {
    let redis = TestRedis::new();
    let queue = redis.calendar_changes();
    let EnqueueOutcome::Accepted { job_id: first } = record_one(&queue, "c", 5).await else {
        panic!("a first notification is a new job");
    };
    // Reordered: 3 arrives after 5, while 5's job waits.
    assert_eq!(record_one(&queue, "c", 3).await, EnqueueOutcome::Duplicate);
    assert_eq!(
        record_one(&queue, "c", 7).await,
        EnqueueOutcome::Coalesced {
            job_id: first.clone()
        }
    );
    // The job starts: it reads Google after 7 arrived, so 6 (sent before 7) is covered.
    let leased = queue
        .lease("w", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leased.id, first);
    assert_eq!(record_one(&queue, "c", 6).await, EnqueueOutcome::Duplicate);
    assert_eq!(record_one(&queue, "c", 7).await, EnqueueOutcome::Duplicate);
    // A higher number is a change the running job may have missed: one more job.
    let EnqueueOutcome::Accepted { job_id: second } = record_one(&queue, "c", 8).await else {
        panic!("a number above the highest after the job started is a new job");
    };
    // A sync no notification caused joins the waiting job and is never a duplicate.
    assert_eq!(
        record_one(&queue, "c", 0).await,
        EnqueueOutcome::Coalesced {
            job_id: second.clone()
        }
    );
    let waiting = redis.waiting_calendar_changes().await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].message_number, 8);
    let mut conn = redis.conn();
    let (n, j): (String, String) = redis::cmd("HMGET")
        .arg(queue.channel_key("c"))
        .arg("n")
        .arg("j")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!((n.as_str(), j.as_str()), ("8", second.as_str()));
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(queue.channel_key("c"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl_ms > 0 && ttl_ms <= TTL.as_millis() as i64, "{ttl_ms}");
    queue
        .finish(&leased.id, "w", calsync::queue::store::Finish::Done, "")
        .await
        .unwrap();
    redis.expect_jobs_left();
}

#[actix_web::test]
async fn a_backstop_sync_first_then_notifications() {
    let redis = TestRedis::new();
    redis.expect_jobs_left();
    let queue = redis.calendar_changes();
    let EnqueueOutcome::Accepted { job_id } = record_one(&queue, "c", 0).await else {
        panic!("a backstop sync on a quiet channel is a new job");
    };
    // The first notification joins it and becomes the highest number.
    assert_eq!(
        record_one(&queue, "c", 4).await,
        EnqueueOutcome::Coalesced {
            job_id: job_id.clone()
        }
    );
    assert_eq!(record_one(&queue, "c", 4).await, EnqueueOutcome::Duplicate);
    assert_eq!(redis.waiting_calendar_changes().await.len(), 1);
}
