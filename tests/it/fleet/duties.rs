//! The fleet's other periodic duties: one turn per interval however many workers ask, and
//! old dead jobs forgotten while recent ones stay for inspection.

use std::time::Duration;

use calsync::queue::fleet::FleetTurns;

use crate::helpers::test_redis::TestRedis;

#[tokio::test]
async fn one_worker_of_many_gets_each_turn() {
    let redis = TestRedis::new();
    let turns: Vec<_> = (0..5)
        .map(|i| FleetTurns::new(redis.conn(), redis.namespace(), &format!("w{i}")))
        .collect();
    let mut won = 0;
    for t in &turns {
        if t.claim("outbox_sweep", Duration::from_secs(60))
            .await
            .unwrap()
        {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    assert!(
        turns[0]
            .claim("dead_job_cleanup", Duration::from_secs(60))
            .await
            .unwrap(),
        "duties have their own turns"
    );
}

#[tokio::test]
async fn dead_jobs_older_than_the_retention_are_forgotten() {
    let redis = TestRedis::new();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let key = |k: &str| format!("{}:push_case_changes:{k}", redis.namespace());
    let now_ms = chrono::Utc::now().timestamp_millis();
    for (id, died) in [("old", now_ms - 7_200_000), ("young", now_ms - 60_000)] {
        let _: () = redis::pipe()
            .zadd(key("dead"), id, died)
            .hset(key("data"), id, "{}")
            .hset(key("errors"), id, "boom")
            .query(&mut conn)
            .unwrap();
    }
    let turns = FleetTurns::new(redis.conn(), redis.namespace(), "w");
    let forgot = turns
        .trim_dead("push_case_changes", Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(forgot, 1);
    let left: Vec<String> = redis::cmd("ZRANGE")
        .arg(key("dead"))
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    assert_eq!(left, ["young"]);
    let data: Vec<String> = redis::cmd("HKEYS")
        .arg(key("data"))
        .query(&mut conn)
        .unwrap();
    assert_eq!(data, ["young"]);
    redis.expect_jobs_left();
}
