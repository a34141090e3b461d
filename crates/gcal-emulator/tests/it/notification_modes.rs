//! Dropping, delaying and duplicating notifications.

use std::time::{Duration, Instant};

use gcal_emulator::{DeliveryOutcome, NotificationMode};
use reqwest::Method;

use super::support::{Harness, Receiver, start, timed, watch_body};

async fn watched() -> (Harness, Receiver) {
    let h = start().await;
    let rx = Receiver::start().await;
    let res = h
        .call(
            Method::POST,
            "/calendars/primary/events/watch",
            Some(watch_body("modes", &rx.url)),
        )
        .await;
    assert_eq!(res.status, 200);
    rx.wait_for(1).await;
    (h, rx)
}

#[tokio::test]
async fn dropped_notifications_are_logged_but_never_sent() {
    let (h, rx) = watched().await;
    h.emu.set_notification_mode(NotificationMode::Drop);
    h.insert(timed("x", 9)).await;
    rx.assert_stays_at(1).await;
    let log = h.emu.notifications();
    let last = log.last().unwrap();
    assert_eq!(last.outcome, DeliveryOutcome::Dropped);
    assert_eq!(last.resource_state, "exists");

    h.emu.set_notification_mode(NotificationMode::Normal);
    h.insert(timed("y", 10)).await;
    rx.wait_for(2).await;
}

#[tokio::test]
async fn delayed_notifications_arrive_late() {
    let (h, rx) = watched().await;
    h.emu
        .set_notification_mode(NotificationMode::Delay(Duration::from_millis(300)));
    let started = Instant::now();
    h.insert(timed("x", 9)).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(rx.hits().len(), 1, "not yet delivered");
    rx.wait_for(2).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn duplicated_notifications_repeat_the_message_number() {
    let (h, rx) = watched().await;
    h.emu.set_notification_mode(NotificationMode::Duplicate);
    h.insert(timed("x", 9)).await;
    let hits = rx.wait_for(3).await;
    assert_eq!(hits[1].message_number(), hits[2].message_number());
    assert_eq!(hits[1].header("X-Goog-Resource-State"), Some("exists"));
    rx.assert_stays_at(3).await;
}
