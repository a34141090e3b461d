//! events get/insert/patch/update/delete: ids, duplicates, etags, If-Match, sequence, tombstones.

use gcal_emulator::{EmulatorConfig, TombstoneWrite};
use reqwest::Method;
use serde_json::{Value, json};

use super::support::{Harness, start, start_with, timed};

fn with_id(id: &str, mut event: Value) -> Value {
    event["id"] = json!(id);
    event
}

async fn patch(h: &Harness, id: &str, body: Value) -> super::support::Reply {
    h.call(
        Method::PATCH,
        &format!("/calendars/primary/events/{id}"),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn insert_sets_server_fields_and_etag_changes_on_every_write() {
    let h = start().await;
    let created = h
        .insert(with_id("deadline00001", timed("PERM filing", 9)))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let ev = &created.body;
    assert_eq!(ev["kind"], "calendar#event");
    assert_eq!(ev["id"], "deadline00001");
    assert_eq!(ev["status"], "confirmed");
    assert_eq!(ev["sequence"], 0);
    let etag = ev["etag"].as_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(
        etag.trim_matches('"').chars().all(|c| c.is_ascii_digit()),
        "{etag}"
    );
    assert_eq!(created.header("etag"), Some(etag.as_str()));
    // RFC 3339 with milliseconds, in UTC.
    let updated = ev["updated"].as_str().unwrap();
    assert_eq!(updated.len(), "2026-06-15T09:00:00.000Z".len(), "{updated}");
    assert!(updated.ends_with('Z'));

    let patched = patch(&h, "deadline00001", json!({"description": "ETA-9089"})).await;
    assert_eq!(patched.status, 200);
    assert_ne!(patched.body["etag"].as_str().unwrap(), etag);
    assert!(patched.body["updated"].as_str().unwrap() >= updated);
}

#[tokio::test]
async fn server_generates_base32hex_ids_when_none_given() {
    let h = start().await;
    let ev = h.insert(timed("no id", 9)).await;
    let id = ev.body["id"].as_str().unwrap();
    assert!(id.len() >= 5);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b)),
        "{id}"
    );
}

#[tokio::test]
async fn client_ids_must_be_base32hex_of_5_to_1024_chars() {
    let h = start().await;
    let too_long = "a".repeat(1025);
    for bad in [
        "abcd",
        "ABCDEF",
        "abc-def",
        "abcdefw",
        "abc_def",
        too_long.as_str(),
    ] {
        let res = h.insert(with_id(bad, timed("x", 9))).await;
        assert_eq!(res.status, 400, "id {bad:?}");
        assert_eq!(res.reason(), "invalid", "id {bad:?}");
    }
    for good in [
        "abcde",
        "0123456789abcdefghijklmnopqrstuv",
        &"v".repeat(1024),
    ] {
        assert_eq!(
            h.insert(with_id(good, timed("x", 9))).await.status,
            200,
            "id {good:?}"
        );
    }
}

#[tokio::test]
async fn duplicate_ids_conflict_even_after_deletion() {
    let h = start().await;
    assert_eq!(
        h.insert(with_id("case42deadline", timed("x", 9)))
            .await
            .status,
        200
    );
    let dup = h.insert(with_id("case42deadline", timed("y", 10))).await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.reason(), "duplicate");
    assert_eq!(
        dup.body["error"]["errors"][0]["message"],
        "The requested identifier already exists."
    );

    let del = h
        .call(
            Method::DELETE,
            "/calendars/primary/events/case42deadline",
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(del.body, Value::Null, "delete has an empty body");
    let again = h.insert(with_id("case42deadline", timed("z", 11))).await;
    assert_eq!((again.status, again.reason()), (409, "duplicate"));
}

#[tokio::test]
async fn get_returns_events_tombstones_404_and_304() {
    let h = start().await;
    h.insert(with_id("event00001", timed("x", 9))).await;
    let got = h.get("/calendars/primary/events/event00001").await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["summary"], "x");
    let etag = got.body["etag"].as_str().unwrap().to_owned();

    let not_modified = h
        .call_with(
            Method::GET,
            "/calendars/primary/events/event00001",
            None,
            &[("If-None-Match", &etag)],
        )
        .await;
    assert_eq!(not_modified.status, 304);

    let missing = h.get("/calendars/primary/events/nosuchevent").await;
    assert_eq!((missing.status, missing.reason()), (404, "notFound"));
    assert_eq!(missing.body["error"]["message"], "Not Found");

    h.call(Method::DELETE, "/calendars/primary/events/event00001", None)
        .await;
    let deleted = h.get("/calendars/primary/events/event00001").await;
    assert_eq!(deleted.status, 200, "get returns deleted events");
    assert_eq!(deleted.body["status"], "cancelled");
}

#[tokio::test]
async fn patch_merges_extended_properties_and_null_removes_a_key() {
    let h = start().await;
    let mut ev = with_id("patchme001", timed("Title", 9));
    ev["description"] = json!("keep me");
    ev["extendedProperties"] = json!({"private": {"calsync_case": "c1", "calsync_rev": "1", "stale": "x"}, "shared": {"s": "1"}});
    h.insert(ev).await;

    let res = patch(
        &h,
        "patchme001",
        json!({"extendedProperties": {"private": {"calsync_rev": "2", "stale": null, "added": "y"}}}),
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(
        res.body["extendedProperties"],
        json!({"private": {"calsync_case": "c1", "calsync_rev": "2", "added": "y"}, "shared": {"s": "1"}})
    );
    assert_eq!(
        res.body["description"], "keep me",
        "fields not sent are kept"
    );
    assert_eq!(res.body["summary"], "Title");
    assert_eq!(res.body["sequence"], 0, "no significant change");

    let retitled = patch(
        &h,
        "patchme001",
        json!({"summary": "New title", "description": null}),
    )
    .await;
    assert_eq!(
        retitled.body["sequence"], 1,
        "a title change is significant"
    );
    assert!(
        retitled.body.get("description").is_none(),
        "null clears a field"
    );
}

#[tokio::test]
async fn update_replaces_the_whole_event() {
    let h = start().await;
    let mut ev = with_id("replace001", timed("Title", 9));
    ev["description"] = json!("gone after update");
    ev["extendedProperties"] = json!({"private": {"calsync_case": "c1"}});
    let created = h.insert(ev).await;

    let res = h
        .call(
            Method::PUT,
            "/calendars/primary/events/replace001",
            Some(timed("Title", 10)),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert!(res.body.get("description").is_none());
    assert!(res.body.get("extendedProperties").is_none());
    assert_eq!(res.body["start"]["dateTime"], "2026-06-15T10:00:00Z");
    assert_eq!(res.body["sequence"], 1, "moving is significant");
    assert_eq!(
        res.body["created"], created.body["created"],
        "created is kept"
    );
    assert_eq!(res.body["id"], "replace001");
}

#[tokio::test]
async fn if_match_guards_update_patch_and_delete() {
    let h = start().await;
    let created = h.insert(with_id("guarded01", timed("x", 9))).await;
    let etag = created.body["etag"].as_str().unwrap().to_owned();
    let stale = "\"1\"";
    let path = "/calendars/primary/events/guarded01";

    for (method, body) in [
        (Method::PATCH, Some(json!({"summary": "y"}))),
        (Method::PUT, Some(timed("y", 9))),
        (Method::DELETE, None),
    ] {
        let res = h
            .call_with(method.clone(), path, body, &[("If-Match", stale)])
            .await;
        assert_eq!(res.status, 412, "{method}");
        assert_eq!(res.reason(), "conditionNotMet");
        assert_eq!(res.body["error"]["errors"][0]["location"], "If-Match");
    }
    let ok = h
        .call_with(
            Method::PATCH,
            path,
            Some(json!({"summary": "y"})),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(ok.status, 200);
    let old = h
        .call_with(
            Method::PATCH,
            path,
            Some(json!({"summary": "z"})),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(old.status, 412, "the etag changed with the first patch");
}

#[tokio::test]
async fn delete_twice_is_410_deleted_and_writes_to_tombstones_are_refused() {
    let h = start().await;
    h.insert(with_id("gone000001", timed("x", 9))).await;
    let path = "/calendars/primary/events/gone000001";
    assert_eq!(h.call(Method::DELETE, path, None).await.status, 204);
    let again = h.call(Method::DELETE, path, None).await;
    assert_eq!((again.status, again.reason()), (410, "deleted"));
    assert_eq!(
        again.body["error"]["errors"][0]["message"],
        "Resource has been deleted"
    );

    let upd = h.call(Method::PUT, path, Some(timed("y", 9))).await;
    assert_eq!((upd.status, upd.reason()), (403, "forbidden"));
    let pat = patch(&h, "gone000001", json!({"summary": "y"})).await;
    assert_eq!(pat.status, 403);

    let h = start_with(EmulatorConfig {
        tombstone_write: TombstoneWrite::Gone410,
        ..EmulatorConfig::default()
    })
    .await;
    h.insert(with_id("gone000001", timed("x", 9))).await;
    h.call(Method::DELETE, path, None).await;
    let pat = patch(&h, "gone000001", json!({"summary": "y"})).await;
    assert_eq!((pat.status, pat.reason()), (410, "deleted"));
}

#[tokio::test]
async fn all_day_and_timed_events_and_time_validation() {
    let h = start().await;
    let all_day = h
        .insert(json!({"summary": "I-140 due", "start": {"date": "2026-07-01"}, "end": {"date": "2026-07-02"}}))
        .await;
    assert_eq!(all_day.status, 200);
    assert_eq!(all_day.body["start"], json!({"date": "2026-07-01"}));

    let zoned = h
        .insert(json!({
            "summary": "Call",
            "start": {"dateTime": "2026-07-01T09:00:00", "timeZone": "America/New_York"},
            "end": {"dateTime": "2026-07-01T09:30:00", "timeZone": "America/New_York"},
        }))
        .await;
    assert_eq!(zoned.status, 200, "{:?}", zoned.body);
    assert_eq!(zoned.body["start"]["timeZone"], "America/New_York");

    let cases = [
        (json!({"start": {"date": "2026-07-01"}}), "required"),
        (
            json!({"start": {"date": "2026-07-01"}, "end": {"dateTime": "2026-07-02T00:00:00Z"}}),
            "invalid",
        ),
        (
            json!({"start": {"date": "2026-07-03"}, "end": {"date": "2026-07-02"}}),
            "timeRangeEmpty",
        ),
        (
            json!({"start": {"dateTime": "2026-07-01T09:00:00"}, "end": {"dateTime": "2026-07-01T10:00:00"}}),
            "invalid",
        ),
        (
            json!({"start": {"date": "July 1"}, "end": {"date": "2026-07-02"}}),
            "invalid",
        ),
    ];
    for (body, reason) in cases {
        let res = h.insert(body.clone()).await;
        assert_eq!((res.status, res.reason()), (400, reason), "{body}");
    }
    let garbage = h
        .http
        .post(format!(
            "{}/calendars/primary/events",
            h.emu.urls().api_base
        ))
        .bearer_auth(&h.token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
}

#[tokio::test]
async fn calendars_of_other_users_are_not_found_and_ids_may_be_percent_encoded() {
    let h = start().await;
    h.emu.add_user("someone@example.com").unwrap();
    let other = h.get("/calendars/someone%40example.com/events").await;
    assert_eq!((other.status, other.reason()), (404, "notFound"));
    let own = h.get("/calendars/paralegal%40example.com/events").await;
    assert_eq!(own.status, 200);
    let raw = h.get("/calendars/paralegal@example.com/events").await;
    assert_eq!(raw.status, 200);
}
