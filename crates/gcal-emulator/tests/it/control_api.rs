//! Acting as the user, read-back of requests and notifications, and the HTTP control API.

use chrono::{DateTime, NaiveDate};
use gcal_emulator::{ControlError, EventInput, EventTime};
use reqwest::Method;
use serde_json::{Value, json};

use super::support::{Receiver, USER, client, enc, start, timed, watch_body};

#[tokio::test]
async fn user_actions_change_events_like_the_google_ui() {
    let h = start().await;
    let mut input = EventInput::all_day(
        "RFE response due",
        NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        1,
    );
    input
        .private_properties
        .insert("calsync_case".into(), "c9".into());
    let created = h.emu.user_create_event(USER, &input).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["extendedProperties"]["private"]["calsync_case"],
        "c9"
    );

    let start =
        EventTime::DateTime(DateTime::parse_from_rfc3339("2026-09-02T09:00:00-04:00").unwrap());
    let end =
        EventTime::DateTime(DateTime::parse_from_rfc3339("2026-09-02T10:00:00-04:00").unwrap());
    let moved = h.emu.user_move_event(USER, &id, &start, &end).unwrap();
    assert_eq!(moved["start"]["dateTime"], "2026-09-02T09:00:00-04:00");
    assert_eq!(moved["sequence"], 1);
    let retitled = h
        .emu
        .user_retitle_event(USER, &id, "RFE response (moved)")
        .unwrap();
    assert_eq!(retitled["sequence"], 2);

    // calsync sees exactly what the user did.
    let api = h.get(&format!("/calendars/primary/events/{id}")).await;
    assert_eq!(api.body, retitled);

    h.emu.user_delete_event(USER, &id).unwrap();
    assert_eq!(h.emu.event(USER, &id).unwrap()["status"], "cancelled");
    assert!(matches!(
        h.emu.user_delete_event(USER, &id),
        Err(ControlError::Rejected(e)) if e.status == 410
    ));
    assert!(matches!(
        h.emu.user_retitle_event(USER, "nosuchevent", "x"),
        Err(ControlError::UnknownEvent(_))
    ));
    assert!(matches!(
        h.emu
            .user_create_event_json("nobody@example.com", timed("x", 9)),
        Err(ControlError::UnknownCalendar(_))
    ));
    let paths: Vec<String> = h.emu.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/token".to_owned(),
            format!("/calendar/v3/calendars/primary/events/{id}")
        ],
        "control actions are not recorded as requests"
    );
}

#[tokio::test]
async fn requests_are_recorded_with_their_outcome() {
    let h = start().await;
    h.insert(timed("recorded", 9)).await;
    h.list("maxResults=7&q=rec").await;
    h.get("/calendars/primary/events/nosuchevent").await;

    let log = h.emu.requests();
    assert_eq!(log[0].path, "/token");
    assert!(log[0].body.contains("grant_type=refresh_token"));
    let insert = &log[1];
    assert_eq!((insert.method.as_str(), insert.status), ("POST", 200));
    assert_eq!(insert.path, "/calendar/v3/calendars/primary/events");
    assert_eq!(
        serde_json::from_str::<Value>(&insert.body).unwrap()["summary"],
        "recorded"
    );
    assert_eq!(
        insert.header("authorization"),
        Some(format!("Bearer {}", h.token).as_str())
    );
    let list = &log[2];
    assert!(
        list.query_pairs()
            .contains(&("maxResults".to_owned(), "7".to_owned()))
    );
    assert_eq!(log[3].status, 404);
    assert_eq!(log.len(), 4);

    h.emu.clear_records();
    assert!(h.emu.requests().is_empty());
}

#[tokio::test]
async fn notification_log_records_each_attempt() {
    let h = start().await;
    let rx = Receiver::start().await;
    // Scripted before the watch: the sync notification may arrive before the watch returns.
    rx.respond_with(&[200, 503, 204]);
    h.call(
        Method::POST,
        "/calendars/primary/events/watch",
        Some(watch_body("logged", &rx.url)),
    )
    .await;
    h.insert(timed("x", 9)).await;
    let log = h
        .emu
        .wait_for_notifications(|l| l.len() >= 3, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let summary: Vec<(&str, u64, Option<u16>, u32)> = log
        .iter()
        .map(|n| {
            (
                n.resource_state.as_str(),
                n.message_number,
                n.status(),
                n.attempt,
            )
        })
        .collect();
    assert_eq!(summary[0], ("sync", 1, Some(200), 1));
    assert_eq!(
        (summary[1].0, summary[1].2, summary[1].3),
        ("exists", Some(503), 1)
    );
    assert_eq!(
        (summary[2].0, summary[2].2, summary[2].3),
        ("exists", Some(204), 2)
    );
    assert_eq!(summary[1].1, summary[2].1);
    assert!(
        log.iter()
            .all(|n| n.channel_id == "logged" && n.calendar_id == USER)
    );
    assert_eq!(log[0].header("X-Goog-Channel-ID"), Some("logged"));
    assert_eq!(h.emu.channels()[0].id, "logged");
}

#[tokio::test]
async fn http_control_api_drives_the_emulator() {
    let h = start().await;
    let http = client();
    let base = h.emu.urls().control_base.clone();
    let post = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body).send();

    let user = post(
        "/users",
        json!({"email": "demo@example.com", "refreshToken": "demo-refresh"}),
    )
    .await
    .unwrap();
    assert_eq!(user.status(), 200);
    let user: Value = user.json().await.unwrap();
    assert_eq!(user["refreshToken"], "demo-refresh");
    assert_eq!(user["calendarId"], "demo@example.com");

    let cal = format!("/calendars/{}", enc(USER));
    let ev: Value = post(&format!("{cal}/events"), timed("from curl", 9))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = ev["id"].as_str().unwrap();
    let moved: Value = post(
        &format!("{cal}/events/{id}/move"),
        json!({"start": {"date": "2026-10-01"}, "end": {"date": "2026-10-02"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(moved["start"]["date"], "2026-10-01");
    let retitled = post(
        &format!("{cal}/events/{id}/retitle"),
        json!({"summary": "renamed"}),
    )
    .await
    .unwrap();
    assert_eq!(retitled.status(), 200);
    assert_eq!(h.emu.event(USER, id).unwrap()["summary"], "renamed");
    let listed: Value = http
        .get(format!("{base}{cal}/events"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let (_, token) = h.list_all("").await;
    let inval = post(&format!("{cal}/invalidate-sync-tokens"), json!({}))
        .await
        .unwrap();
    assert_eq!(inval.status(), 204);
    assert_eq!(
        h.list(&format!("syncToken={}", enc(&token))).await.status,
        410
    );

    let del = http
        .delete(format!("{base}{cal}/events/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    let missing = http
        .delete(format!("{base}{cal}/events/nosuchevent"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    post(
        "/faults",
        json!({"kind": "status503", "count": 1, "retryAfter": 3, "method": "GET"}),
    )
    .await
    .unwrap();
    let faulted = h.list("").await;
    assert_eq!(
        (faulted.status, faulted.header("retry-after")),
        (503, Some("3"))
    );
    post("/faults", json!({"kind": "status429", "count": 9}))
        .await
        .unwrap();
    http.delete(format!("{base}/faults")).send().await.unwrap();
    assert_eq!(h.list("").await.status, 200);

    let quota = http
        .put(format!("{base}/quota"))
        .json(&json!({"perUserPerMinute": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(quota.status(), 204);
    assert_eq!(h.list("").await.status, 200);
    assert_eq!(h.list("").await.status, 403);
    http.put(format!("{base}/quota"))
        .json(&json!({"perUserPerMinute": null}))
        .send()
        .await
        .unwrap();

    let mode = http
        .put(format!("{base}/notification-mode"))
        .json(&json!({"mode": "delay"}))
        .send()
        .await
        .unwrap();
    assert_eq!(mode.status(), 400, "delay needs delayMs");
    let mode = http
        .put(format!("{base}/notification-mode"))
        .json(&json!({"mode": "drop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(mode.status(), 204);
    let rx = Receiver::start().await;
    h.call(
        Method::POST,
        "/calendars/primary/events/watch",
        Some(watch_body("viahttp", &rx.url)),
    )
    .await;
    let notes: Value = http
        .get(format!("{base}/notifications"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(notes[0]["outcome"]["kind"], "dropped");
    let channels: Value = http
        .get(format!("{base}/channels"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(channels[0]["id"], "viahttp");

    let requests: Value = http
        .get(format!("{base}/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        requests
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["path"].as_str().unwrap().starts_with("/_emulator"))
    );
    assert!(
        requests
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == 503)
    );

    post("/access-tokens/expire", json!({})).await.unwrap();
    assert_eq!(h.list("").await.status, 401);
    let revoke = post(
        "/grants/revoke",
        json!({"refreshToken": h.user.refresh_token}),
    )
    .await
    .unwrap();
    assert_eq!(revoke.status(), 204);
    let refused = http
        .post(&h.emu.urls().token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", h.user.refresh_token.as_str()),
            (
                "client_id",
                "calsync-test-client.apps.googleusercontent.com",
            ),
            ("client_secret", "calsync-test-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    let signed_in = http
        .put(format!("{base}/signed-in-user"))
        .json(&json!({"email": USER}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 204);
    let unknown = http
        .put(format!("{base}/signed-in-user"))
        .json(&json!({"email": "nobody@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let cleared = http.delete(format!("{base}/records")).send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(h.emu.requests().is_empty());
}

#[tokio::test]
async fn connect_flow_controls_over_http() {
    let h = start().await;
    let http = client();
    let base = h.emu.urls().control_base.clone();
    let send = |method: Method, path: &str, body: Option<Value>| {
        let mut req = http.request(method, format!("{base}{path}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    let account = send(
        Method::POST,
        "/accounts",
        Some(json!({"email": "new@example.com"})),
    )
    .await
    .unwrap();
    assert_eq!(account.status(), 200);
    let account: Value = account.json().await.unwrap();
    assert_eq!(account["sub"].as_str().unwrap().len(), 21);
    let redirect = send(
        Method::POST,
        "/redirect-uris",
        Some(json!({"uri": "http://localhost:9/cb"})),
    )
    .await
    .unwrap();
    assert_eq!(redirect.status(), 204);
    let client_added = send(
        Method::POST,
        "/clients",
        Some(json!({"clientId": "other", "clientSecret": "s", "redirectUris": []})),
    )
    .await
    .unwrap();
    assert_eq!(client_added.status(), 204);
    let tz = send(
        Method::PUT,
        &format!("/users/{}/time-zone", enc(USER)),
        Some(json!({"timeZone": "America/Denver"})),
    )
    .await
    .unwrap();
    assert_eq!(tz.status(), 204);
    let made: Value = send(
        Method::POST,
        &format!("/users/{}/calendars", enc(USER)),
        Some(json!({"summary": "Personal"})),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = made["id"].as_str().unwrap();
    let renamed = send(
        Method::POST,
        &format!("/calendars/{}/rename", enc(id)),
        Some(json!({"summary": "Personal (old)"})),
    )
    .await
    .unwrap();
    assert_eq!(renamed.status(), 204);
    let calendars: Value = send(
        Method::GET,
        &format!("/users/{}/calendars", enc(USER)),
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(calendars[0]["timeZone"], "America/Denver");
    assert_eq!(calendars[0]["primary"], true);
    assert_eq!(calendars[1]["summary"], "Personal (old)");
    assert_eq!(calendars[1]["createdByClient"], Value::Null);
    let deleted = send(Method::DELETE, &format!("/calendars/{}", enc(id)), None)
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let primary = send(Method::DELETE, &format!("/calendars/{}", enc(USER)), None)
        .await
        .unwrap();
    assert_eq!(primary.status(), 400);
    let grants: Value = send(Method::GET, &format!("/users/{}/grants", enc(USER)), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        grants[0]["scopes"],
        json!(["https://www.googleapis.com/auth/calendar"])
    );
    assert_eq!(grants[0]["revoked"], false);
    assert_eq!(grants[0]["refreshTokens"], json!([h.user.refresh_token]));
    let who: Value = send(Method::GET, &format!("/users/{}", enc(USER)), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["primaryCalendar"], USER);
    let unknown = send(Method::GET, "/users/ghost%40example.com/grants", None)
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}
