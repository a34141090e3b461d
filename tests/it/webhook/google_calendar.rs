//! Every rule of the Google Calendar webhook, through the HTTP layer, asserting both the
//! response and the jobs actually in Redis.

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use calsync::channel_token;
use calsync::http;

use crate::helpers::test_app::{SECRET, TestApp, notification, send};

#[actix_web::test]
async fn exists_and_not_exists_enqueue_one_job_each_then_200() {
    let t = TestApp::ingress_only();
    let app = test::init_service(http::app(t.state.clone())).await;
    let (a, b) = (t.insert_channel(), t.insert_channel());

    let (status, _) = send(&app, t.notification(&a, "exists", 7).to_request()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(&app, t.notification(&b, "not_exists", 3).to_request()).await;
    assert_eq!(status, StatusCode::OK);

    let jobs = t.redis.waiting_calendar_changes().await;
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].channel_id, a);
    assert_eq!(jobs[0].resource_id, "res-1");
    assert_eq!(jobs[0].message_number, 7);
    assert!(
        (chrono::Utc::now() - jobs[0].received_at)
            .num_seconds()
            .abs()
            < 10
    );
    assert_eq!(jobs[1].channel_id, b);
    assert_eq!(jobs[1].message_number, 3);
}

#[actix_web::test]
async fn sync_is_acknowledged_and_enqueues_nothing() {
    let t = TestApp::new();
    let app = test::init_service(http::app(t.state.clone())).await;
    let (status, _) = send(&app, t.notification("chan-1", "sync", 1).to_request()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(t.redis.waiting_calendar_changes().await.is_empty());
}

#[actix_web::test]
async fn missing_or_malformed_channel_id_is_400_and_enqueues_nothing() {
    let t = TestApp::ingress_only();
    let app = test::init_service(http::app(t.state.clone())).await;
    let long = "a".repeat(65);
    for bad in [
        "",
        long.as_str(),
        "has.dot",
        "has space",
        "colon:x",
        "star*",
    ] {
        let (status, _) = send(
            &app,
            notification(bad, &t.token(bad), "exists", 2).to_request(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "channel id {bad:?}");
    }
    let req = TestRequest::post()
        .uri("/api/webhooks/google-calendar")
        .insert_header(("X-Goog-Resource-State", "exists"))
        .insert_header(("X-Goog-Message-Number", "2"))
        .insert_header(("X-Goog-Resource-ID", "res-1"))
        .to_request();
    assert_eq!(send(&app, req).await.0, StatusCode::BAD_REQUEST);
    // 64 characters from Google's alphabet are fine.
    let max = format!("{}+/=_-", "A".repeat(59));
    assert_eq!(
        send(&app, t.notification(&max, "exists", 2).to_request())
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(t.redis.waiting_calendar_changes().await.len(), 1);
}

#[actix_web::test]
async fn missing_or_wrong_token_is_401_and_enqueues_nothing() {
    let t = TestApp::new();
    let app = test::init_service(http::app(t.state.clone())).await;
    let chan = t.insert_channel();
    let other_secret = channel_token::derive(
        &"another-secret-of-32-characters-xx".to_owned().into(),
        &chan,
    );
    let wrong = [
        String::new(),
        format!("perm-tracker-{chan}"),
        t.token("some-other-channel"),
        other_secret,
        format!("{}x", t.token(&chan)),
    ];
    for token in &wrong {
        let (status, body) = send(&app, notification(&chan, token, "exists", 5).to_request()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token:?}");
        assert!(!body.contains(SECRET));
    }
    let no_token = TestRequest::post()
        .uri("/api/webhooks/google-calendar")
        .insert_header(("X-Goog-Channel-ID", chan.as_str()))
        .insert_header(("X-Goog-Resource-State", "exists"))
        .insert_header(("X-Goog-Message-Number", "5"))
        .insert_header(("X-Goog-Resource-ID", "res-1"))
        .to_request();
    assert_eq!(send(&app, no_token).await.0, StatusCode::UNAUTHORIZED);
    // A sync message needs a valid token too.
    assert_eq!(
        send(&app, notification(&chan, "nope", "sync", 1).to_request())
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert!(t.redis.waiting_calendar_changes().await.is_empty());
}

#[actix_web::test]
async fn tokens_of_the_previous_secret_are_accepted_during_rotation() {
    const OLD: &str = "old-channel-token-secret-0123456789abcdef";
    let rotated = TestApp::with_webhook(|w| {
        w.channel_token_secret_previous = Some(OLD.to_owned().into());
    });
    rotated.redis.expect_jobs_left();
    let app = test::init_service(http::app(rotated.state.clone())).await;
    let old_token = channel_token::derive(&OLD.to_owned().into(), "chan-1");
    let (status, _) = send(
        &app,
        notification("chan-1", &old_token, "exists", 4).to_request(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rotated.redis.waiting_calendar_changes().await.len(), 1);

    // Without the previous secret configured, the same token is refused.
    let plain = TestApp::new();
    let app = test::init_service(http::app(plain.state.clone())).await;
    let (status, _) = send(
        &app,
        notification("chan-1", &old_token, "exists", 4).to_request(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn unknown_state_or_bad_message_number_is_400() {
    let t = TestApp::new();
    let app = test::init_service(http::app(t.state.clone())).await;
    for state in ["add", "update", "EXISTS", ""] {
        let (status, _) = send(&app, t.notification("chan-1", state, 3).to_request()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "state {state:?}");
    }
    for number in ["", "abc", "-1", "0", "99999999999999999999"] {
        let req = TestRequest::post()
            .uri("/api/webhooks/google-calendar")
            .insert_header(("X-Goog-Channel-ID", "chan-1"))
            .insert_header(("X-Goog-Channel-Token", t.token("chan-1")))
            .insert_header(("X-Goog-Resource-State", "exists"))
            .insert_header(("X-Goog-Message-Number", number))
            .insert_header(("X-Goog-Resource-ID", "res-1"))
            .to_request();
        assert_eq!(
            send(&app, req).await.0,
            StatusCode::BAD_REQUEST,
            "number {number:?}"
        );
    }
    assert!(t.redis.waiting_calendar_changes().await.is_empty());
}

#[actix_web::test]
async fn header_names_are_case_insensitive() {
    let t = TestApp::ingress_only();
    let app = test::init_service(http::app(t.state.clone())).await;
    let req = TestRequest::post()
        .uri("/api/webhooks/google-calendar")
        .insert_header(("x-goog-channel-id", "chan-1"))
        .insert_header(("X-GOOG-CHANNEL-TOKEN", t.token("chan-1")))
        .insert_header(("x-Goog-resource-STATE", "exists"))
        .insert_header(("x-goog-message-number", "9"))
        .insert_header(("x-goog-resource-id", "res-1"))
        .to_request();
    assert_eq!(send(&app, req).await.0, StatusCode::OK);
    assert_eq!(t.redis.waiting_calendar_changes().await.len(), 1);
}

#[actix_web::test]
async fn body_is_ignored_but_bounded_and_other_methods_are_405() {
    let t = TestApp::ingress_only();
    let app = test::init_service(http::app(t.state.clone())).await;
    let with_body = t
        .notification("chan-1", "exists", 2)
        .set_payload("{not json at all")
        .to_request();
    assert_eq!(send(&app, with_body).await.0, StatusCode::OK);
    let huge = t
        .notification("chan-1", "exists", 3)
        .insert_header(("Content-Length", "100000"))
        .set_payload(vec![b'x'; 100_000])
        .to_request();
    assert_eq!(send(&app, huge).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    for method in [
        actix_web::http::Method::GET,
        actix_web::http::Method::PUT,
        actix_web::http::Method::DELETE,
    ] {
        let req = TestRequest::default()
            .method(method.clone())
            .uri("/api/webhooks/google-calendar")
            .to_request();
        assert_eq!(
            send(&app, req).await.0,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
    }
    assert_eq!(t.redis.waiting_calendar_changes().await.len(), 1);
}

#[actix_web::test]
async fn a_burst_for_one_channel_leaves_one_waiting_job() {
    let t = TestApp::ingress_only();
    let app = test::init_service(http::app(t.state.clone())).await;
    for n in 10..30 {
        assert_eq!(
            send(&app, t.notification("chan-a", "exists", n).to_request())
                .await
                .0,
            StatusCode::OK
        );
    }
    assert_eq!(
        send(&app, t.notification("chan-b", "exists", 10).to_request())
            .await
            .0,
        StatusCode::OK
    );
    let jobs = t.redis.waiting_calendar_changes().await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!(
        (jobs[0].channel_id.as_str(), jobs[0].message_number),
        ("chan-a", 10)
    );
    assert_eq!(jobs[1].channel_id, "chan-b");
    assert_eq!(t.redis.counter("coalesced").await, 19);
    assert_eq!(t.redis.counter("enqueued").await, 2);
}

#[actix_web::test]
async fn a_repeat_of_the_same_message_number_is_dropped() {
    let t = TestApp::ingress_only();
    let app = test::init_service(http::app(t.state.clone())).await;
    for _ in 0..3 {
        assert_eq!(
            send(&app, t.notification("chan-a", "exists", 42).to_request())
                .await
                .0,
            StatusCode::OK
        );
    }
    assert_eq!(t.redis.waiting_calendar_changes().await.len(), 1);
    assert_eq!(t.redis.counter("duplicate").await, 2);

    // Still a repeat after a worker took the job: no second job.
    let queue = t.redis.calendar_changes();
    queue
        .lease("w1", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        send(&app, t.notification("chan-a", "exists", 42).to_request())
            .await
            .0,
        StatusCode::OK
    );
    assert!(t.redis.waiting_calendar_changes().await.is_empty());
    assert_eq!(t.redis.counter("duplicate").await, 3);
}

#[actix_web::test]
async fn notifications_after_a_worker_started_give_exactly_one_more_job() {
    let t = TestApp::ingress_only();
    let app = test::init_service(http::app(t.state.clone())).await;
    send(&app, t.notification("chan-a", "exists", 1).to_request()).await;
    // A worker starts on the channel's job (the marker is cleared as it is leased) ...
    let queue = t.redis.calendar_changes();
    let started = queue
        .lease("w1", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(started.attempt, 1);
    assert!(t.redis.waiting_calendar_changes().await.is_empty());
    // ... so changes made while it runs are not lost: they get one more run, not three.
    for n in 2..5 {
        assert_eq!(
            send(&app, t.notification("chan-a", "exists", n).to_request())
                .await
                .0,
            StatusCode::OK
        );
    }
    let waiting = t.redis.waiting_calendar_changes().await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].message_number, 2);
    // And that job coalesces later ones until it starts in turn.
    let second = queue
        .lease("w1", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(second.id, started.id);
    send(&app, t.notification("chan-a", "exists", 5).to_request()).await;
    assert_eq!(t.redis.waiting_calendar_changes().await.len(), 1);
}

#[actix_web::test]
async fn metrics_count_notifications_by_state_and_outcome() {
    let t = TestApp::ingress_only();
    let app = test::init_service(http::app(t.state.clone())).await;
    send(&app, t.notification("chan-a", "exists", 1).to_request()).await;
    send(&app, t.notification("chan-a", "exists", 2).to_request()).await;
    send(&app, t.notification("chan-a", "exists", 2).to_request()).await;
    send(&app, t.notification("chan-a", "sync", 1).to_request()).await;
    send(
        &app,
        notification("chan-a", "bad", "exists", 3).to_request(),
    )
    .await;
    let admin = test::init_service(http::admin_app(t.state.clone())).await;
    let (status, body) = send(&admin, TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        r#"calsync_webhook_notifications_total{outcome="accepted",reason="",resource_state="exists"} 1"#,
        r#"calsync_webhook_notifications_total{outcome="coalesced",reason="",resource_state="exists"} 1"#,
        r#"calsync_webhook_notifications_total{outcome="duplicate",reason="",resource_state="exists"} 1"#,
        r#"calsync_webhook_notifications_total{outcome="ignored",reason="",resource_state="sync"} 1"#,
        r#"calsync_webhook_notifications_total{outcome="rejected",reason="invalid_token",resource_state="exists"} 1"#,
        r#"calsync_queue_depth{queue="process_calendar_changes",state="ready"} 1"#,
        r#"calsync_jobs_total{queue="process_calendar_changes",event="enqueued"} 1"#,
        r#"calsync_jobs_total{queue="process_calendar_changes",event="coalesced"} 1"#,
        r#"calsync_queue_depth{queue="push_case_changes",state="ready"} 0"#,
        "calsync_queue_up 1",
        "calsync_outbox_rows 0",
    ] {
        assert!(body.contains(line), "missing {line}\n{body}");
    }
    assert!(body.contains("calsync_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/webhooks/google-calendar\",status=\"200\""));
}

#[actix_web::test]
async fn healthz_and_readyz_when_everything_is_up() {
    let t = TestApp::new();
    let app = test::init_service(http::app(t.state.clone())).await;
    assert_eq!(
        send(&app, TestRequest::get().uri("/healthz").to_request())
            .await
            .0,
        StatusCode::OK
    );
    let admin = test::init_service(http::admin_app(t.state.clone())).await;
    let (status, body) = send(&admin, TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""postgres":"ok""#) && body.contains(r#""redis":"ok""#));
}
