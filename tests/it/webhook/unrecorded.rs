//! A channel whose notification was answered 503 (Redis down) is synced once Redis answers
//! again, without any new notification: Google may have given up retrying by then.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use calsync::config::WebhookConfig;
use calsync::http;
use calsync::http::webhooks::unrecorded;

use crate::helpers::test_app::{SECRET, notification, send, state_for};
use crate::helpers::test_db::TestDb;
use crate::helpers::test_redis::{TestRedis, ThrowawayRedis, eventually};

#[actix_web::test]
async fn a_channel_answered_503_gets_a_job_once_redis_is_back() {
    let db = TestDb::new();
    let mut server = ThrowawayRedis::start();
    let redis = TestRedis::at(&server.url());
    redis.expect_jobs_left();
    let mut webhook = WebhookConfig::with_secret(SECRET);
    webhook.enqueue_timeout = Duration::from_millis(500);
    let state = state_for(&db, &redis, &server.url(), webhook);
    let app = test::init_service(http::app(state.clone())).await;
    let admin = test::init_service(http::admin_app(state.clone())).await;
    let token = calsync::channel_token::derive(&SECRET.to_owned().into(), "chan-x");

    server.kill();
    let (status, _) = send(
        &app,
        notification("chan-x", &token, "exists", 4).to_request(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(state.unrecorded.len(), 1);
    let (_, metrics) = send(&admin, TestRequest::get().uri("/metrics").to_request()).await;
    assert!(
        metrics.contains("calsync_webhook_unrecorded_channels 1"),
        "{metrics}"
    );

    // The hand-over runs as in `serve`, with a short period; no notification follows.
    let task = actix_web::rt::spawn(unrecorded::run(
        state.unrecorded.clone(),
        state.queue.clone(),
        Duration::from_millis(50),
    ));
    server.restart();
    eventually(Duration::from_secs(10), "a job for chan-x", || async {
        !redis.waiting_calendar_changes().await.is_empty()
    })
    .await;
    let jobs = redis.waiting_calendar_changes().await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].channel_id, "chan-x");
    assert_eq!(jobs[0].resource_id, "res-1");
    assert_eq!(jobs[0].message_number, 0, "no notification caused it");
    assert!(state.unrecorded.is_empty());
    let (_, metrics) = send(&admin, TestRequest::get().uri("/metrics").to_request()).await;
    assert!(
        metrics.contains("calsync_webhook_unrecorded_channels 0"),
        "{metrics}"
    );
    task.abort();
}
