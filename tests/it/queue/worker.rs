//! The real `ProcessCalendarChanges` worker, in-process, against Redis and PostgreSQL.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test;
use calsync::db::models::calendar_channel as store;
use calsync::http;

use crate::helpers::test_app::{TestApp, send};
use crate::helpers::test_redis::eventually;

#[actix_web::test]
async fn a_worker_consumes_the_job_and_records_the_notification() {
    let t = TestApp::new();
    let app = test::init_service(http::app(t.state.clone())).await;
    let chan = t.insert_channel();
    assert_eq!(
        send(&app, t.notification(&chan, "exists", 17).to_request())
            .await
            .0,
        StatusCode::OK
    );

    let worker = t.start_worker(2);
    let mut conn = t.db.conn();
    eventually(
        Duration::from_secs(10),
        "the channel row to be updated",
        || {
            let row = store::find_by_channel_id(&mut conn, &chan)
                .unwrap()
                .unwrap();
            std::future::ready(
                row.last_message_number == Some(17) && row.last_notification_at.is_some(),
            )
        },
    )
    .await;
    eventually(
        Duration::from_secs(5),
        "the job to be acknowledged",
        || async { t.redis.counter("processed").await == 1 },
    )
    .await;
    let depth = t.redis.depth().await;
    assert_eq!(
        (depth.ready, depth.inflight, depth.delayed, depth.dead),
        (0, 0, 0, 0)
    );
    worker.stop().await.unwrap();
}

#[actix_web::test]
async fn an_unknown_channel_is_dropped_not_retried() {
    let t = TestApp::new();
    let app = test::init_service(http::app(t.state.clone())).await;
    assert_eq!(
        send(
            &app,
            t.notification("no-such-channel", "exists", 3).to_request()
        )
        .await
        .0,
        StatusCode::OK
    );
    let worker = t.start_worker(1);
    eventually(
        Duration::from_secs(10),
        "the job to be processed",
        || async { t.redis.counter("processed").await == 1 },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.redis.counter("retried").await, 0);
    assert_eq!(t.redis.counter("failed").await, 0);
    let depth = t.redis.depth().await;
    assert_eq!(
        (depth.ready, depth.inflight, depth.delayed, depth.dead),
        (0, 0, 0, 0)
    );
    worker.stop().await.unwrap();
}
