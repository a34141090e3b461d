//! events.list: paging, tokens, tombstones, forbidden parameters, 410, filters.

use chrono::{DateTime, NaiveDate};
use gcal_emulator::{EventInput, EventTime};
use reqwest::Method;
use serde_json::{Value, json};

use super::support::{USER, enc, start, timed};

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pages_carry_next_page_token_xor_next_sync_token() {
    let h = start().await;
    for i in 0..5 {
        h.insert(timed(&format!("e{i}"), 9 + i)).await;
    }
    let first = h.list("maxResults=2").await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    assert!(first.body.get("nextPageToken").is_some());
    assert!(first.body.get("nextSyncToken").is_none());
    assert_eq!(first.body["kind"], "calendar#events");
    assert_eq!(first.body["accessRole"], "owner");

    let (items, _) = h.list_all("maxResults=2").await;
    let mut seen = ids(&items);
    assert_eq!(seen.len(), 5);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5, "no item repeated across pages");

    let bad = h.list("pageToken=garbage").await;
    assert_eq!((bad.status, bad.reason()), (400, "invalid"));
}

#[tokio::test]
async fn max_results_defaults_to_250_and_rejects_zero() {
    let h = start().await;
    for i in 0..251 {
        h.emu
            .user_create_event(
                USER,
                &EventInput::all_day(
                    &format!("d{i}"),
                    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                    1,
                ),
            )
            .unwrap();
    }
    let page = h.list("").await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 250);
    assert!(page.body.get("nextPageToken").is_some());
    let big = h.list("maxResults=5000").await;
    assert_eq!(
        big.body["items"].as_array().unwrap().len(),
        251,
        "capped at 2500, not refused"
    );
    assert!(big.body.get("nextSyncToken").is_some());
    let zero = h.list("maxResults=0").await;
    assert_eq!((zero.status, zero.reason()), (400, "invalid"));
}

#[tokio::test]
async fn incremental_sync_returns_changes_and_minimal_tombstones() {
    let h = start().await;
    let a = h.insert(timed("a", 9)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = h.insert(timed("b", 10)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let _c = h.insert(timed("c", 11)).await;
    let (_, token) = h.list_all("").await;

    let empty = h.list(&format!("syncToken={}", enc(&token))).await;
    assert_eq!(empty.status, 200);
    assert!(empty.body["items"].as_array().unwrap().is_empty());
    assert!(empty.body.get("nextSyncToken").is_some());

    h.emu.user_retitle_event(USER, &a, "a2").unwrap();
    h.emu.user_delete_event(USER, &b).unwrap();
    let created = h.emu.user_create_event_json(USER, timed("d", 12)).unwrap();

    let (items, token2) = h.list_all(&format!("syncToken={}", enc(&token))).await;
    let mut got = ids(&items);
    got.sort();
    let mut want = vec![
        a.clone(),
        b.clone(),
        created["id"].as_str().unwrap().to_owned(),
    ];
    want.sort();
    assert_eq!(got, want);
    let tomb = items.iter().find(|i| i["id"] == b.as_str()).unwrap();
    let mut keys: Vec<&str> = tomb
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["etag", "id", "kind", "status"]);
    assert_eq!(tomb["status"], "cancelled");
    let retitled = items.iter().find(|i| i["id"] == a.as_str()).unwrap();
    assert_eq!(retitled["summary"], "a2");

    // The old token is not consumed: replaying it returns the same changes.
    let (replayed, _) = h.list_all(&format!("syncToken={}", enc(&token))).await;
    assert_eq!(replayed.len(), 3);
    let (none, _) = h.list_all(&format!("syncToken={}", enc(&token2))).await;
    assert!(none.is_empty());

    // Incremental pages also alternate the two tokens correctly.
    let paged = h
        .list(&format!("syncToken={}&maxResults=2", enc(&token)))
        .await;
    assert!(paged.body.get("nextPageToken").is_some() && paged.body.get("nextSyncToken").is_none());
}

#[tokio::test]
async fn full_sync_hides_cancelled_events_unless_show_deleted() {
    let h = start().await;
    let gone = h.insert(timed("gone", 9)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.insert(timed("kept", 10)).await;
    h.call(
        Method::DELETE,
        &format!("/calendars/primary/events/{gone}"),
        None,
    )
    .await;

    let (items, _) = h.list_all("").await;
    assert_eq!(ids(&items).len(), 1);
    assert!(!ids(&items).contains(&gone));

    let (items, _) = h.list_all("showDeleted=true").await;
    let tomb = items.iter().find(|i| i["id"] == gone.as_str()).unwrap();
    assert_eq!(tomb["status"], "cancelled");
    assert_eq!(
        tomb["summary"], "gone",
        "showDeleted returns the cancelled event's details"
    );
}

#[tokio::test]
async fn forbidden_parameters_with_sync_token_are_400() {
    let h = start().await;
    let (_, token) = h.list_all("").await;
    let forbidden = [
        ("iCalUID", "x@google.com"),
        ("orderBy", "updated"),
        ("privateExtendedProperty", "k=v"),
        ("q", "deadline"),
        ("sharedExtendedProperty", "k=v"),
        ("timeMin", "2026-01-01T00:00:00Z"),
        ("timeMax", "2027-01-01T00:00:00Z"),
        ("updatedMin", "2026-01-01T00:00:00Z"),
    ];
    for (name, value) in forbidden {
        let res = h
            .list(&format!("syncToken={}&{name}={}", enc(&token), enc(value)))
            .await;
        assert_eq!(res.status, 400, "{name}");
        assert_eq!(res.reason(), "invalid", "{name}");
        assert_eq!(res.body["error"]["errors"][0]["location"], name);
        assert_eq!(res.body["error"]["errors"][0]["locationType"], "parameter");
    }
    let allowed = h
        .list(&format!(
            "syncToken={}&maxResults=10&singleEvents=true&showDeleted=true",
            enc(&token)
        ))
        .await;
    assert_eq!(allowed.status, 200);
}

#[tokio::test]
async fn invalidated_or_foreign_sync_tokens_get_410_full_sync_required() {
    let h = start().await;
    h.insert(timed("a", 9)).await;
    let (_, token) = h.list_all("").await;
    h.emu.invalidate_sync_tokens(USER).unwrap();
    let res = h.list(&format!("syncToken={}", enc(&token))).await;
    assert_eq!(res.status, 410);
    assert_eq!(
        res.body,
        json!({"error": {"errors": [{"domain": "calendar", "reason": "fullSyncRequired",
            "message": "Sync token is no longer valid, a full sync is required.",
            "locationType": "parameter", "location": "syncToken"}],
            "code": 410, "message": "Sync token is no longer valid, a full sync is required."}})
    );
    let garbage = h.list("syncToken=CPDAlvWDx70CEPDAlvWDx").await;
    assert_eq!(
        (garbage.status, garbage.reason()),
        (410, "fullSyncRequired")
    );

    // A fresh full sync yields a token that works again.
    let (items, fresh) = h.list_all("").await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        h.list(&format!("syncToken={}", enc(&fresh))).await.status,
        200
    );
}

#[tokio::test]
async fn changes_made_while_paging_are_not_lost() {
    let h = start().await;
    for i in 0..4 {
        h.insert(timed(&format!("e{i}"), 9 + i)).await;
    }
    let first = h.list("maxResults=2").await;
    let page_token = first.body["nextPageToken"].as_str().unwrap().to_owned();
    // A change lands between the pages, with an id that sorts before the cursor.
    let mut early = timed("late arrival", 20);
    early["id"] = json!("00000late");
    h.insert(early).await;
    let rest = h
        .list(&format!("maxResults=10&pageToken={}", enc(&page_token)))
        .await;
    assert!(!ids(rest.body["items"].as_array().unwrap()).contains(&"00000late".to_owned()));
    let token = rest.body["nextSyncToken"].as_str().unwrap();
    let (changes, _) = h.list_all(&format!("syncToken={}", enc(token))).await;
    assert!(
        ids(&changes).contains(&"00000late".to_owned()),
        "{changes:?}"
    );
}

#[tokio::test]
async fn filters_on_a_full_listing() {
    let h = start().await;
    let mut tagged = timed("Labor certification deadline", 9);
    tagged["extendedProperties"] = json!({"private": {"calsync_case": "c7"}});
    h.insert(tagged).await;
    h.insert(timed("Lunch", 12)).await;
    h.emu
        .user_create_event(
            USER,
            &EventInput::new(
                "Later",
                EventTime::DateTime(
                    DateTime::parse_from_rfc3339("2026-08-01T09:00:00+02:00").unwrap(),
                ),
                EventTime::DateTime(
                    DateTime::parse_from_rfc3339("2026-08-01T10:00:00+02:00").unwrap(),
                ),
            ),
        )
        .unwrap();

    let summaries = |items: &[Value]| -> Vec<String> {
        let mut s: Vec<String> = items
            .iter()
            .map(|i| i["summary"].as_str().unwrap().to_owned())
            .collect();
        s.sort();
        s
    };
    let q = h.list("q=certification").await;
    assert_eq!(
        summaries(q.body["items"].as_array().unwrap()),
        ["Labor certification deadline"]
    );
    assert!(
        q.body.get("nextSyncToken").is_none(),
        "a filtered full sync yields no sync token"
    );

    let prop = h.list("privateExtendedProperty=calsync_case%3Dc7").await;
    assert_eq!(prop.body["items"].as_array().unwrap().len(), 1);

    let window = h
        .list(&format!(
            "timeMin={}&timeMax={}",
            enc("2026-06-15T10:00:00Z"),
            enc("2026-07-01T00:00:00Z")
        ))
        .await;
    assert_eq!(
        summaries(window.body["items"].as_array().unwrap()),
        ["Lunch"]
    );
    assert!(
        window.body.get("nextSyncToken").is_some(),
        "time bounds allow a sync token"
    );

    let empty_range = h
        .list(&format!(
            "timeMin={}&timeMax={}",
            enc("2026-07-01T00:00:00Z"),
            enc("2026-06-01T00:00:00Z")
        ))
        .await;
    assert_eq!(
        (empty_range.status, empty_range.reason()),
        (400, "timeRangeEmpty")
    );

    let bad_order = h.list("orderBy=startTime").await;
    assert_eq!((bad_order.status, bad_order.reason()), (400, "invalid"));
    let ordered = h.list("orderBy=startTime&singleEvents=true").await;
    assert_eq!(
        ordered.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["summary"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Labor certification deadline", "Lunch", "Later"]
    );
}
