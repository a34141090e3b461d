//! With Redis down or too slow, notifications are answered 503 (Google retries) within the
//! configured bound, and readiness says what is down.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use calsync::config::WebhookConfig;
use calsync::http;

use crate::helpers::test_app::{SECRET, TestApp, notification, send, state_for};
use crate::helpers::test_db::TestDb;
use crate::helpers::test_redis::TestRedis;

const BOUND: Duration = Duration::from_millis(300);

fn webhook() -> WebhookConfig {
    let mut w = WebhookConfig::with_secret(SECRET);
    w.enqueue_timeout = BOUND;
    w
}

fn token(channel: &str) -> String {
    calsync::channel_token::derive(&SECRET.to_owned().into(), channel)
}

#[actix_web::test]
async fn redis_unreachable_is_503_within_the_bound_and_not_ready() {
    let db = TestDb::new();
    let redis = TestRedis::new();
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let state = state_for(&db, &redis, &format!("redis://127.0.0.1:{port}"), webhook());
    let app = test::init_service(http::app(state.clone())).await;
    let admin = test::init_service(http::admin_app(state)).await;
    for n in 1..4 {
        let start = Instant::now();
        let (status, body) = send(
            &app,
            notification("chan-1", &token("chan-1"), "exists", n).to_request(),
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            start.elapsed() < BOUND + Duration::from_millis(200),
            "{:?}",
            start.elapsed()
        );
        assert!(
            !body.to_lowercase().contains("redis"),
            "5xx bodies are opaque: {body}"
        );
    }
    let (status, body) = send(&admin, TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains(r#""redis":"down""#) && body.contains(r#""postgres":"ok""#),
        "{body}"
    );
    assert_eq!(
        send(&app, TestRequest::get().uri("/healthz").to_request())
            .await
            .0,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn redis_slower_than_the_bound_is_503_within_the_bound() {
    let db = TestDb::new();
    let redis = TestRedis::new();
    // Accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let state = state_for(&db, &redis, &format!("redis://127.0.0.1:{port}"), webhook());
    let app = test::init_service(http::app(state)).await;
    let start = Instant::now();
    let (status, _) = send(
        &app,
        notification("chan-1", &token("chan-1"), "exists", 1).to_request(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let took = start.elapsed();
    assert!(
        took >= BOUND - Duration::from_millis(50) && took < BOUND + Duration::from_millis(300),
        "{took:?}"
    );
    drop(silent);
}

#[actix_web::test]
async fn a_notification_answered_503_is_recorded_when_google_retries() {
    let t = TestApp::ingress_only();
    let mut w = webhook();
    // Google's retry after Redis is back: the same message number is recorded once.
    w.enqueue_timeout = Duration::from_secs(1);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = test::init_service(http::app(state_for(
        &t.db,
        &t.redis,
        &format!("redis://127.0.0.1:{port}"),
        w.clone(),
    )))
    .await;
    let up = test::init_service(http::app(state_for(&t.db, &t.redis, t.redis.url(), w))).await;
    assert_eq!(
        send(
            &down,
            notification("c", &token("c"), "exists", 8).to_request()
        )
        .await
        .0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        send(
            &up,
            notification("c", &token("c"), "exists", 8).to_request()
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(t.redis.waiting_calendar_changes().await.len(), 1);
}
