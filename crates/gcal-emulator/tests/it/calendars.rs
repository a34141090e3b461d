//! `calendars` and `calendarList`: create, read, rename, delete; the primary calendar's time
//! zone; what deleting a calendar does to its events and watches.

use reqwest::Method;
use serde_json::json;

use super::support::{Receiver, USER, enc, start, timed, watch_body};

#[tokio::test]
async fn calendars_can_be_created_read_renamed_replaced_and_deleted() {
    let h = start().await;
    h.emu
        .set_primary_time_zone(USER, "America/New_York")
        .unwrap();
    let created = h
        .call(
            Method::POST,
            "/calendars",
            Some(json!({"summary": "PERM Deadlines", "description": "Synced by calsync"})),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with("c_") && id.ends_with("@group.calendar.google.com"),
        "{id}"
    );
    assert_eq!(created.body["kind"], "calendar#calendar");
    assert_eq!(created.body["summary"], "PERM Deadlines");
    assert_eq!(
        created.body["timeZone"], "America/New_York",
        "a new calendar takes the primary calendar's zone"
    );
    let path = format!("/calendars/{}", enc(&id));
    assert_eq!(h.get(&path).await.body, created.body);

    let renamed = h
        .call(
            Method::PATCH,
            &path,
            Some(json!({"summary": "PERM Deadlines (Smith LLP)"})),
        )
        .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.body["summary"], "PERM Deadlines (Smith LLP)");
    assert_eq!(renamed.body["description"], "Synced by calsync");
    assert_ne!(renamed.body["etag"], created.body["etag"]);
    let replaced = h
        .call(
            Method::PUT,
            &path,
            Some(json!({"summary": "Deadlines", "timeZone": "Europe/Paris"})),
        )
        .await;
    assert_eq!(replaced.body["timeZone"], "Europe/Paris");
    assert!(replaced.body.get("description").is_none());
    let untitled = h
        .call(Method::PATCH, &path, Some(json!({"summary": ""})))
        .await;
    assert_eq!((untitled.status, untitled.reason()), (400, "required"));

    let zoned = h
        .call(
            Method::POST,
            "/calendars",
            Some(json!({"summary": "Other", "timeZone": "Asia/Tokyo"})),
        )
        .await;
    assert_eq!(zoned.body["timeZone"], "Asia/Tokyo");
    let untitled = h.call(Method::POST, "/calendars", Some(json!({}))).await;
    assert_eq!((untitled.status, untitled.reason()), (400, "required"));

    let events = format!("{path}/events");
    let inserted = h.call(Method::POST, &events, Some(timed("I-140", 9))).await;
    assert_eq!(inserted.status, 200);
    let deleted = h.call(Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.body, serde_json::Value::Null);
    for (method, p) in [
        (Method::GET, path.clone()),
        (Method::GET, events.clone()),
        (Method::DELETE, path.clone()),
        (Method::PATCH, path.clone()),
    ] {
        let gone = h.call(method, &p, Some(json!({"summary": "x"}))).await;
        assert_eq!((gone.status, gone.reason()), (404, "notFound"), "{p}");
    }

    let primary = h.call(Method::DELETE, "/calendars/primary", None).await;
    assert_eq!(primary.status, 400);
    assert_eq!(primary.reason(), "cannotDeletePrimaryCalendar");
    let primary = h.get("/calendars/primary").await;
    assert_eq!(primary.body["id"], USER);
    assert_eq!(primary.body["summary"], USER);
    assert_eq!(primary.body["timeZone"], "America/New_York");
}

#[tokio::test]
async fn the_calendar_list_holds_the_primary_first_and_every_calendar_made() {
    let h = start().await;
    let created = h
        .call(
            Method::POST,
            "/calendars",
            Some(json!({"summary": "PERM Deadlines"})),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let list = h.get("/users/me/calendarList").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["kind"], "calendar#calendarList");
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], USER);
    assert_eq!(items[0]["primary"], true);
    assert_eq!(items[0]["accessRole"], "owner");
    assert_eq!(items[0]["timeZone"], "UTC");
    assert_eq!(items[1]["id"], id.as_str());
    assert!(items[1].get("primary").is_none());

    let entry = h.get("/users/me/calendarList/primary").await;
    assert_eq!(entry.body["kind"], "calendar#calendarListEntry");
    assert_eq!(entry.body["id"], USER);
    let missing = h.get("/users/me/calendarList/nope%40example.com").await;
    assert_eq!(missing.status, 404);

    let mine = h.emu.calendars(USER).unwrap();
    assert!(mine[0].primary && mine[0].created_by_client.is_none());
    assert_eq!(mine[1].id, id);
    assert_eq!(
        mine[1].created_by_client.as_deref(),
        Some("calsync-test-client.apps.googleusercontent.com")
    );
}

#[tokio::test]
async fn a_calendar_the_user_deletes_stops_its_channels_and_answers_404() {
    let h = start().await;
    let receiver = Receiver::start().await;
    let created = h
        .call(
            Method::POST,
            "/calendars",
            Some(json!({"summary": "PERM Deadlines"})),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/calendars/{}", enc(&id));
    let watch = h
        .call(
            Method::POST,
            &format!("{path}/events/watch"),
            Some(watch_body("ch-perm", &receiver.url)),
        )
        .await;
    assert_eq!(watch.status, 200);
    receiver.wait_for(1).await;

    h.emu.user_delete_calendar(&id).unwrap();
    assert!(h.emu.channels().iter().all(|c| c.stopped));
    assert!(h.emu.calendars(USER).unwrap().iter().all(|c| c.id != id));
    assert_eq!(h.get(&format!("{path}/events")).await.status, 404);
    let stop = h
        .call(
            Method::POST,
            "/channels/stop",
            Some(json!({"id": "ch-perm", "resourceId": watch.body["resourceId"]})),
        )
        .await;
    assert_eq!(stop.status, 404);
    receiver.assert_stays_at(1).await;
    assert!(h.emu.user_delete_calendar(USER).is_err(), "not the primary");
}
