//! events.watch, push delivery, retries, message numbers, channels.stop, expiry.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gcal_emulator::EmulatorConfig;
use reqwest::Method;
use serde_json::{Value, json};

use super::support::{Harness, Receiver, USER, start, start_with, timed, watch_body};

async fn watch(h: &Harness, body: Value) -> super::support::Reply {
    h.call(Method::POST, "/calendars/primary/events/watch", Some(body))
        .await
}

fn test_config() -> EmulatorConfig {
    EmulatorConfig {
        max_channel_lifetime: Duration::from_secs(3600),
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn watch_returns_the_channel_and_sends_sync_message_number_1() {
    let h = start().await;
    let rx = Receiver::start().await;
    let res = watch(&h, watch_body("chan-1", &rx.url)).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let ch = &res.body;
    assert_eq!(ch["kind"], "api#channel");
    assert_eq!(ch["id"], "chan-1");
    assert_eq!(ch["token"], "target=chan-1");
    let resource_id = ch["resourceId"].as_str().unwrap();
    assert!(!resource_id.is_empty());
    assert!(
        ch["resourceUri"]
            .as_str()
            .unwrap()
            .contains(&format!("/calendars/{USER}/events"))
    );
    // Expiration is a string of epoch milliseconds, 7 days out by default.
    let exp: i64 = ch["expiration"].as_str().unwrap().parse().unwrap();
    let week = Utc::now().timestamp_millis() + 604_800_000;
    assert!((exp - week).abs() < 5_000, "{exp} vs {week}");

    let hits = rx.wait_for(1).await;
    let sync = &hits[0];
    assert_eq!(sync.header("X-Goog-Resource-State"), Some("sync"));
    assert_eq!(sync.header("X-Goog-Message-Number"), Some("1"));
    assert_eq!(sync.header("X-Goog-Channel-ID"), Some("chan-1"));
    assert_eq!(sync.header("X-Goog-Resource-ID"), Some(resource_id));
    assert_eq!(sync.header("X-Goog-Channel-Token"), Some("target=chan-1"));
    assert!(sync.body.is_empty());
    assert_eq!(sync.header("content-length"), Some("0"));
}

#[tokio::test]
async fn expiration_is_clamped_and_ttl_honoured() {
    let h = start_with(test_config()).await;
    let rx = Receiver::start().await;
    let now = Utc::now().timestamp_millis();
    let mut far = watch_body("far", &rx.url);
    far["expiration"] = json!(now + 365 * 86_400_000);
    let res = watch(&h, far).await;
    let exp: i64 = res.body["expiration"].as_str().unwrap().parse().unwrap();
    assert!(
        (exp - (now + 3_600_000)).abs() < 5_000,
        "clamped to the 1 h maximum: {exp}"
    );

    let mut ttl = watch_body("ttl", &rx.url);
    ttl["params"] = json!({"ttl": "600"});
    let res = watch(&h, ttl).await;
    let exp: i64 = res.body["expiration"].as_str().unwrap().parse().unwrap();
    assert!((exp - (now + 600_000)).abs() < 5_000, "{exp}");

    let h = start_with(EmulatorConfig {
        expiration_as_string: false,
        ..test_config()
    })
    .await;
    let res = watch(&h, watch_body("num", &rx.url)).await;
    assert!(
        res.body["expiration"].is_i64(),
        "numeric form is configurable"
    );
}

#[tokio::test]
async fn changes_notify_every_live_channel_of_the_calendar_with_all_headers() {
    let h = start().await;
    let rx = Receiver::start().await;
    let other_rx = Receiver::start().await;
    watch(&h, watch_body("chan-a", &rx.url)).await;
    watch(&h, watch_body("chan-b", &rx.url)).await;
    // A channel on another user's calendar must not hear about this calendar.
    let other = h.emu.add_user("other@example.com").unwrap();
    let other_token = super::support::refresh(&h.http, &h.emu, &other.refresh_token).await;
    let res = h
        .http
        .post(format!(
            "{}/calendars/primary/events/watch",
            h.emu.urls().api_base
        ))
        .bearer_auth(other_token)
        .json(&watch_body("chan-other", &other_rx.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    rx.wait_for(2).await;
    other_rx.wait_for(1).await;

    h.insert(timed("new deadline", 9)).await;
    let hits = rx.wait_for(4).await;
    let exists: Vec<_> = hits
        .iter()
        .filter(|h| h.header("X-Goog-Resource-State") == Some("exists"))
        .collect();
    assert_eq!(exists.len(), 2);
    let mut channels: Vec<&str> = exists
        .iter()
        .map(|h| h.header("X-Goog-Channel-ID").unwrap())
        .collect();
    channels.sort();
    assert_eq!(channels, ["chan-a", "chan-b"]);
    for hit in &exists {
        assert!(hit.message_number() > 1);
        assert!(hit.body.is_empty());
        let id = hit.header("X-Goog-Channel-ID").unwrap();
        assert_eq!(
            hit.header("X-Goog-Channel-Token"),
            Some(format!("target={id}").as_str())
        );
        assert!(
            hit.header("X-Goog-Resource-URI")
                .unwrap()
                .ends_with(&format!("/calendars/{USER}/events?alt=json"))
        );
        let expiration = hit.header("X-Goog-Channel-Expiration").unwrap();
        assert!(expiration.ends_with(" GMT"), "{expiration}");
        DateTime::parse_from_rfc2822(expiration).expect("RFC 1123 date");
        assert!(hit.header("User-Agent").unwrap().starts_with("APIs-Google"));
    }
    assert_eq!(
        exists[0].header("X-Goog-Resource-ID"),
        exists[1].header("X-Goog-Resource-ID"),
        "the resource id is per calendar, not per channel"
    );
    other_rx.assert_stays_at(1).await;

    // Acting as the user in Google notifies too.
    let id = h
        .emu
        .user_create_event_json(USER, timed("from the UI", 10))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.emu.user_delete_event(USER, &id).unwrap();
    rx.wait_for(8).await;
}

#[tokio::test]
async fn message_numbers_increase_with_gaps() {
    let h = start_with(EmulatorConfig {
        message_number_step: (5, 5),
        ..EmulatorConfig::default()
    })
    .await;
    let rx = Receiver::start().await;
    watch(&h, watch_body("numbers", &rx.url)).await;
    rx.wait_for(1).await;
    for i in 0..3 {
        h.insert(timed("x", 9 + i)).await;
        rx.wait_for(2 + i as usize).await;
    }
    let numbers: Vec<u64> = rx.hits().iter().map(|h| h.message_number()).collect();
    assert_eq!(numbers, [1, 6, 11, 16]);

    let h = start().await;
    let rx = Receiver::start().await;
    watch(&h, watch_body("random", &rx.url)).await;
    rx.wait_for(1).await;
    for i in 0..5 {
        h.insert(timed("x", 9 + i)).await;
        rx.wait_for(2 + i as usize).await;
    }
    let numbers: Vec<u64> = rx.hits().iter().map(|h| h.message_number()).collect();
    assert!(numbers.windows(2).all(|w| w[1] > w[0]), "{numbers:?}");
}

#[tokio::test]
async fn only_500_502_503_504_are_retried() {
    let h = start_with(EmulatorConfig {
        notification_retry_delays: vec![Duration::from_millis(10); 5],
        ..EmulatorConfig::default()
    })
    .await;
    let rx = Receiver::start().await;
    watch(&h, watch_body("retry", &rx.url)).await;
    rx.wait_for(1).await;

    rx.respond_with(&[500, 502, 503, 504]);
    h.insert(timed("x", 9)).await;
    let hits = rx.wait_for(6).await;
    let exists: Vec<u64> = hits[1..].iter().map(|h| h.message_number()).collect();
    assert_eq!(exists.len(), 5, "four failures then success");
    assert!(
        exists.iter().all(|n| *n == exists[0]),
        "a retry repeats the same message"
    );
    rx.assert_stays_at(6).await;

    for status in [400u16, 404, 410, 429] {
        rx.respond_with(&[status]);
        let before = rx.hits().len();
        h.insert(timed("y", 10)).await;
        rx.wait_for(before + 1).await;
        rx.assert_stays_at(before + 1).await;
    }
    let log = h.emu.notifications();
    let statuses: Vec<Option<u16>> = log.iter().map(|n| n.status()).collect();
    assert_eq!(
        statuses,
        [
            Some(200),
            Some(500),
            Some(502),
            Some(503),
            Some(504),
            Some(200),
            Some(400),
            Some(404),
            Some(410),
            Some(429)
        ]
    );
    assert_eq!(log[5].attempt, 5);
}

#[tokio::test]
async fn retries_give_up_after_the_configured_delays() {
    let h = start().await;
    let rx = Receiver::start().await;
    watch(&h, watch_body("giveup", &rx.url)).await;
    rx.wait_for(1).await;
    rx.respond_with(&[503; 10]);
    h.insert(timed("x", 9)).await;
    rx.wait_for(5).await;
    rx.assert_stays_at(5).await; // 1 attempt + 3 retries (default test delays)
}

#[tokio::test]
async fn stop_ends_delivery_and_unknown_channels_are_404() {
    let h = start().await;
    let rx = Receiver::start().await;
    let ch = watch(&h, watch_body("stopme", &rx.url)).await;
    let resource_id = ch.body["resourceId"].as_str().unwrap().to_owned();
    rx.wait_for(1).await;

    let wrong = h
        .call(
            Method::POST,
            "/channels/stop",
            Some(json!({"id": "stopme", "resourceId": "nope"})),
        )
        .await;
    assert_eq!(wrong.status, 404);
    let stop = h
        .call(
            Method::POST,
            "/channels/stop",
            Some(json!({"id": "stopme", "resourceId": resource_id})),
        )
        .await;
    assert_eq!(stop.status, 204);
    assert_eq!(stop.body, Value::Null);
    let again = h
        .call(
            Method::POST,
            "/channels/stop",
            Some(json!({"id": "stopme", "resourceId": resource_id})),
        )
        .await;
    assert_eq!((again.status, again.reason()), (404, "notFound"));
    let unknown = h
        .call(
            Method::POST,
            "/channels/stop",
            Some(json!({"id": "never", "resourceId": resource_id})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Channel 'never' not found")
    );

    h.insert(timed("after stop", 9)).await;
    rx.assert_stays_at(1).await;
}

#[tokio::test]
async fn expired_channels_deliver_nothing() {
    let h = start().await;
    let rx = Receiver::start().await;
    let mut body = watch_body("shortlived", &rx.url);
    body["expiration"] = json!((Utc::now().timestamp_millis() + 1000).to_string());
    watch(&h, body).await;
    rx.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    h.insert(timed("after expiry", 9)).await;
    rx.assert_stays_at(1).await;
}

#[tokio::test]
async fn watch_request_validation() {
    let h = start().await;
    let rx = Receiver::start().await;
    let mut bad_type = watch_body("t1", &rx.url);
    bad_type["type"] = json!("email");
    assert_eq!(watch(&h, bad_type).await.status, 400);
    assert_eq!(watch(&h, watch_body("bad.id", &rx.url)).await.status, 400);
    assert_eq!(
        watch(&h, watch_body(&"x".repeat(65), &rx.url)).await.status,
        400
    );
    assert_eq!(watch(&h, watch_body("dup", &rx.url)).await.status, 200);
    assert_eq!(watch(&h, watch_body("dup", &rx.url)).await.status, 400);

    let strict = start_with(EmulatorConfig {
        require_https_address: true,
        ..EmulatorConfig::default()
    })
    .await;
    let res = watch(&strict, watch_body("plain", &rx.url)).await;
    assert_eq!((res.status, res.reason()), (400, "push.webhookUrlNotHttps"));
}
