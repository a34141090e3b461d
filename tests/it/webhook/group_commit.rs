//! Group commit: concurrent notifications share script calls, each is answered only once
//! recorded, and a Redis failure answers 503 to every request of the group.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test;
use calsync::config::WebhookConfig;
use calsync::http;
use futures::future::join_all;

use crate::helpers::test_app::{SECRET, TestApp, notification, send, state_for};
use crate::helpers::test_db::TestDb;
use crate::helpers::test_redis::{TestRedis, ThrowawayRedis, eventually};

fn token(channel: &str) -> String {
    calsync::channel_token::derive(&SECRET.to_owned().into(), channel)
}

#[actix_web::test]
async fn concurrent_notifications_share_script_calls_and_get_the_right_jobs() {
    let t = TestApp::ingress_only();
    let app = test::init_service(http::app(t.state.clone())).await;
    let mut requests = Vec::new();
    for n in 1..=20 {
        requests.push(t.notification("chan-a", "exists", n).to_request());
    }
    for _ in 0..10 {
        requests.push(t.notification("chan-b", "not_exists", 5).to_request());
    }
    for n in 1..=10 {
        requests.push(
            t.notification(&format!("chan-c{n}"), "exists", 3)
                .to_request(),
        );
    }
    let sent = requests.len() as u64;
    let calls_before = t.state.queue.recorder().calls();
    let answers = join_all(requests.into_iter().map(|r| send(&app, r))).await;
    assert!(
        answers.iter().all(|(s, _)| *s == StatusCode::OK),
        "{answers:?}"
    );
    let calls = t.state.queue.recorder().calls() - calls_before;
    assert!(
        calls <= 4,
        "{sent} concurrent notifications took {calls} calls"
    );

    let jobs = t.redis.waiting_calendar_changes().await;
    let mut channels: Vec<&str> = jobs.iter().map(|j| j.channel_id.as_str()).collect();
    channels.sort_unstable();
    let mut expected = vec!["chan-a", "chan-b"];
    let cs: Vec<String> = (1..=10).map(|n| format!("chan-c{n}")).collect();
    expected.extend(cs.iter().map(String::as_str));
    expected.sort_unstable();
    assert_eq!(channels, expected, "one job per channel");
    assert!(
        jobs.iter()
            .filter(|j| j.channel_id == "chan-b")
            .all(|j| j.message_number == 5)
    );
    assert_eq!(t.redis.counter("enqueued").await, 12);
    assert_eq!(
        t.redis.counter("coalesced").await + t.redis.counter("duplicate").await,
        sent - 12
    );
    assert!(t.redis.counter("duplicate").await >= 9, "chan-b's repeats");
}

#[actix_web::test]
async fn a_notification_alone_is_sent_at_once_in_a_call_of_its_own() {
    let t = TestApp::ingress_only();
    let app = test::init_service(http::app(t.state.clone())).await;
    let before = t.state.queue.recorder().calls();
    for n in 1..=3 {
        let (status, _) = send(&app, t.notification("chan-a", "exists", n).to_request()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(t.state.queue.recorder().calls() - before, n as u64);
    }
    assert_eq!(t.redis.waiting_calendar_changes().await.len(), 1);
}

#[actix_web::test]
async fn redis_killed_mid_group_answers_503_to_every_request_of_the_group() {
    let db = TestDb::new();
    let mut server = ThrowawayRedis::start_persistent();
    let redis = TestRedis::at(&server.url());
    redis.expect_jobs_left();
    let mut webhook = WebhookConfig::with_secret(SECRET);
    webhook.enqueue_timeout = Duration::from_secs(10);
    let state = state_for(&db, &redis, &server.url(), webhook);
    let app = test::init_service(http::app(state.clone())).await;
    // Connected, script loaded: one notification recorded before the outage.
    let (status, _) = send(
        &app,
        notification("warm", &token("warm"), "exists", 1).to_request(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Redis takes the group's call and never runs it (paused), then dies.
    let client = redis::Client::open(server.url()).unwrap();
    let mut admin = client.get_connection().unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(30_000)
        .arg("WRITE")
        .query(&mut admin)
        .unwrap();
    let channels: Vec<String> = (0..20).map(|i| format!("chan-{i}")).collect();
    let requests = channels
        .iter()
        .map(|c| send(&app, notification(c, &token(c), "exists", 7).to_request()));
    let kill = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.kill();
    };
    let (answers, ()) = futures::join!(join_all(requests), kill);
    assert!(
        answers
            .iter()
            .all(|(s, _)| *s == StatusCode::SERVICE_UNAVAILABLE),
        "{:?}",
        answers.iter().map(|(s, _)| *s).collect::<Vec<_>>()
    );

    // Nothing of the group was recorded (the append-only file keeps what was).
    server.restart();
    let waiting = redis.waiting_calendar_changes().await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].channel_id, "warm");

    // Google's retries are recorded once Redis is back.
    for c in &channels {
        eventually(Duration::from_secs(10), "a retry recorded", || async {
            send(&app, notification(c, &token(c), "exists", 7).to_request())
                .await
                .0
                == StatusCode::OK
        })
        .await;
    }
    assert_eq!(redis.waiting_calendar_changes().await.len(), 21);
}
