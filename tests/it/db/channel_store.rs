//! Every operation of the channel store against a real database.

use calsync::db::models::calendar_channel::{self as store, generate_channel_id};
use calsync::db::models::{ChannelStatus, NewCalendarChannel};
use chrono::{TimeZone, Utc};

use crate::helpers::builders::insert_user;
use crate::helpers::test_db::TestDb;
use calsync::ids::UserId;

fn new_channel<'a>(
    user_id: UserId,
    calendar: &'a str,
    channel_id: &'a str,
    exp: i64,
) -> NewCalendarChannel<'a> {
    NewCalendarChannel {
        user_id,
        calendar_id: calendar,
        channel_id,
        resource_id: "res-1",
        resource_uri: Some(
            "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
        ),
        sync_token: Some("tok-1"),
        expiration_timestamp: exp,
    }
}

#[test]
fn create_and_get_by_channel_id_and_by_calendar() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let id = generate_channel_id();

    let created = store::upsert(
        &mut conn,
        &new_channel(user, "primary", &id, 1_800_000_000_000),
    )
    .unwrap();
    assert_eq!(created.status, ChannelStatus::Active);
    assert_eq!(created.sync_token.as_deref(), Some("tok-1"));

    let by_id = store::find_by_channel_id(&mut conn, &id).unwrap().unwrap();
    assert_eq!(by_id, created);
    let by_cal = store::find_for_calendar(&mut conn, user, "primary")
        .unwrap()
        .unwrap();
    assert_eq!(by_cal, created);
    assert!(
        store::find_by_channel_id(&mut conn, "nope")
            .unwrap()
            .is_none()
    );
    assert!(
        store::find_for_calendar(&mut conn, user, "work@example.com")
            .unwrap()
            .is_none()
    );
}

#[test]
fn upsert_replaces_the_users_channel_on_that_calendar() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let (old_id, new_id) = (generate_channel_id(), generate_channel_id());
    let old = store::upsert(&mut conn, &new_channel(user, "primary", &old_id, 1_000)).unwrap();
    store::record_notification(&mut conn, &old_id, 42, Utc::now()).unwrap();
    store::set_status(&mut conn, &old_id, ChannelStatus::NeedsReauth).unwrap();

    // A renewal: new channel id and expiry, no sync token given.
    let mut renewal = new_channel(user, "primary", &new_id, 2_000);
    renewal.sync_token = None;
    renewal.resource_id = "res-2";
    let replaced = store::upsert(&mut conn, &renewal).unwrap();

    assert_eq!(replaced.id, old.id, "same row, replaced in place");
    assert_eq!(replaced.channel_id, new_id);
    assert_eq!(replaced.resource_id, "res-2");
    assert_eq!(replaced.expiration_timestamp, 2_000);
    assert_eq!(
        replaced.sync_token.as_deref(),
        Some("tok-1"),
        "sync position carries over"
    );
    assert_eq!(replaced.status, ChannelStatus::Active);
    assert_eq!(replaced.last_message_number, None);
    assert!(
        store::find_by_channel_id(&mut conn, &old_id)
            .unwrap()
            .is_none()
    );
    assert_eq!(store::list_all(&mut conn).unwrap().len(), 1);

    // A watch after a full sync supplies a token, which replaces the old one.
    let mut rewatch = new_channel(user, "primary", &old_id, 3_000);
    rewatch.sync_token = Some("tok-2");
    let rewatched = store::upsert(&mut conn, &rewatch).unwrap();
    assert_eq!(rewatched.sync_token.as_deref(), Some("tok-2"));

    // Another calendar of the same user is a separate row.
    store::upsert(
        &mut conn,
        &new_channel(user, "team@example.com", &generate_channel_id(), 1),
    )
    .unwrap();
    assert_eq!(store::list_all(&mut conn).unwrap().len(), 2);
}

#[test]
fn channel_ids_must_fit_googles_alphabet() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let too_long = "a".repeat(65);
    for bad in ["has space", "dot.ted", too_long.as_str()] {
        assert!(
            store::upsert(&mut conn, &new_channel(user, "primary", bad, 1)).is_err(),
            "{bad}"
        );
    }
    let id = generate_channel_id();
    assert!(id.len() <= 64);
    store::upsert(&mut conn, &new_channel(user, "primary", &id, 1)).unwrap();
}

#[test]
fn update_sync_token_stamps_last_notification() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let id = generate_channel_id();
    store::upsert(&mut conn, &new_channel(user, "primary", &id, 1)).unwrap();

    assert!(store::update_sync_token(&mut conn, &id, "tok-9").unwrap());
    let row = store::find_by_channel_id(&mut conn, &id).unwrap().unwrap();
    assert_eq!(row.sync_token.as_deref(), Some("tok-9"));
    assert!(row.last_notification_at.is_some());
    assert!(!store::update_sync_token(&mut conn, "unknown", "x").unwrap());
}

#[test]
fn advance_sync_token_only_moves_from_the_expected_token() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let id = generate_channel_id();
    let mut first = new_channel(user, "primary", &id, 1);
    first.sync_token = None;
    let row = store::upsert(&mut conn, &first).unwrap().id;

    assert!(store::advance_sync_token(&mut conn, row, None, "a").unwrap());
    assert!(
        !store::advance_sync_token(&mut conn, row, None, "b").unwrap(),
        "lost race"
    );
    assert!(store::advance_sync_token(&mut conn, row, Some("a"), "c").unwrap());
    let row = store::find_by_channel_id(&mut conn, &id).unwrap().unwrap();
    assert_eq!(row.sync_token.as_deref(), Some("c"));
}

#[test]
fn record_notification_keeps_the_highest_message_number() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let id = generate_channel_id();
    store::upsert(&mut conn, &new_channel(user, "primary", &id, 1)).unwrap();
    let t1 = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();

    assert!(store::record_notification(&mut conn, &id, 7, t1).unwrap());
    store::record_notification(&mut conn, &id, 5, t1).unwrap();
    let row = store::find_by_channel_id(&mut conn, &id).unwrap().unwrap();
    assert_eq!(row.last_message_number, Some(7));
    assert_eq!(row.last_notification_at, Some(t1));
    assert!(!store::record_notification(&mut conn, "unknown", 1, t1).unwrap());
}

#[test]
fn statuses_and_reauth_marking() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (a, b) = (insert_user(&mut conn), insert_user(&mut conn));
    let (a1, a2, b1) = (
        generate_channel_id(),
        generate_channel_id(),
        generate_channel_id(),
    );
    store::upsert(&mut conn, &new_channel(a, "primary", &a1, 1)).unwrap();
    store::upsert(&mut conn, &new_channel(a, "work", &a2, 1)).unwrap();
    store::upsert(&mut conn, &new_channel(b, "primary", &b1, 1)).unwrap();
    store::set_status(&mut conn, &a2, ChannelStatus::Stopped).unwrap();

    assert_eq!(store::mark_user_needs_reauth(&mut conn, a).unwrap(), 1);
    let status =
        |conn: &mut _, id: &str| store::find_by_channel_id(conn, id).unwrap().unwrap().status;
    assert_eq!(status(&mut conn, &a1), ChannelStatus::NeedsReauth);
    assert_eq!(
        status(&mut conn, &a2),
        ChannelStatus::Stopped,
        "a stopped channel stays stopped"
    );
    assert_eq!(status(&mut conn, &b1), ChannelStatus::Active);

    let ids = |v: Vec<calsync::db::models::CalendarChannel>| {
        v.into_iter().map(|c| c.channel_id).collect::<Vec<_>>()
    };
    assert_eq!(ids(store::list_active(&mut conn).unwrap()), [b1.as_str()]);
    assert_eq!(
        ids(store::list_for_user_with_status(&mut conn, a, ChannelStatus::NeedsReauth).unwrap()),
        [a1.as_str()]
    );
    assert_eq!(
        ids(store::list_for_user_with_status(&mut conn, a, ChannelStatus::Stopped).unwrap()),
        [a2.as_str()]
    );
    assert!(
        store::list_for_user_with_status(&mut conn, b, ChannelStatus::NeedsReauth)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn delete_removes_only_that_channel() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let (x, y) = (generate_channel_id(), generate_channel_id());
    store::upsert(&mut conn, &new_channel(user, "primary", &x, 1)).unwrap();
    store::upsert(&mut conn, &new_channel(user, "work", &y, 1)).unwrap();
    assert!(store::delete(&mut conn, &x).unwrap());
    assert!(!store::delete(&mut conn, &x).unwrap());
    assert!(store::find_by_channel_id(&mut conn, &y).unwrap().is_some());
}

#[test]
fn expiring_within_n_days_boundaries() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap();
    let now_ms = now.timestamp_millis();
    let day = 86_400_000;
    let cases = [
        ("expired", now_ms - 1),
        ("at-cutoff", now_ms + 2 * day),
        ("just-after", now_ms + 2 * day + 1),
        ("far", now_ms + 30 * day),
        ("soon", now_ms + day),
    ];
    for (name, exp) in cases {
        let user = insert_user(&mut conn);
        store::upsert(&mut conn, &new_channel(user, "primary", name, exp)).unwrap();
    }
    let stopped_user = insert_user(&mut conn);
    store::upsert(
        &mut conn,
        &new_channel(stopped_user, "primary", "stopped", now_ms),
    )
    .unwrap();
    store::set_status(&mut conn, "stopped", ChannelStatus::Stopped).unwrap();

    let ids = |v: Vec<calsync::db::models::CalendarChannel>| {
        v.into_iter().map(|c| c.channel_id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store::list_expiring_within(&mut conn, 2, now).unwrap()),
        ["expired", "soon", "at-cutoff"]
    );
    assert_eq!(
        ids(store::list_expiring_within(&mut conn, 0, now).unwrap()),
        ["expired"]
    );
    assert_eq!(
        store::list_expiring_within(&mut conn, 30, now)
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn deleting_a_user_deletes_their_channels() {
    use calsync::db::schema::perm_users;
    use diesel::prelude::*;
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let id = generate_channel_id();
    store::upsert(&mut conn, &new_channel(user, "primary", &id, 1)).unwrap();
    diesel::delete(perm_users::table.find(user))
        .execute(&mut conn)
        .unwrap();
    assert!(store::find_by_channel_id(&mut conn, &id).unwrap().is_none());
}
