//! What needs the user: a calendar deleted in Google, the status reasons; and the
//! existing-calendar mode.

use calsync::db::schema::google_credentials;
use diesel::prelude::*;
use reqwest::{Method, StatusCode};

use super::facts::{WITHIN, case_with_deadlines, live_events, status, until_state};
use super::support::ConnectWorld;
use crate::helpers::test_redis::eventually;

#[tokio::test]
async fn a_calendar_deleted_in_google_needs_action_and_resume_puts_it_back() {
    let world = ConnectWorld::start().await;
    case_with_deadlines(&world);
    let mut browser = world.browser();
    world.connect(&mut browser).await;
    let first = world.dedicated_calendar().unwrap();
    eventually(WITHIN, "both deadlines on the calendar", || async {
        live_events(&world, &first).len() == 2
    })
    .await;
    world.w.emu.user_delete_calendar(&first).unwrap();
    // The next sync (here a resync the user asks for) finds it gone.
    let (code, body) = world
        .call(Method::POST, "/api/google-calendar/resync")
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let body = until_state(&world, "action_required").await;
    assert_eq!(body["reason"], "calendar_deleted", "{body}");

    let (code, body) = world
        .call(Method::POST, "/api/google-calendar/resume")
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let second = world.dedicated_calendar().unwrap();
    assert_ne!(first, second);
    eventually(
        WITHIN,
        "every deadline back on the new calendar",
        || async { live_events(&world, &second).len() == 2 },
    )
    .await;
    until_state(&world, "healthy").await;
    world.stop().await;
}

#[tokio::test]
async fn the_status_names_what_needs_the_user() {
    use calsync::db::schema::calendar_sync_channels;
    let world = ConnectWorld::start().await;
    world.connect(&mut world.browser()).await;
    until_state(&world, "healthy").await;
    let mut conn = world.w.db.conn();
    let expect = |state: &'static str, reason: &'static str| {
        let world = &world;
        async move {
            let body = status(world).await;
            assert_eq!(
                (body["state"].as_str(), body["reason"].as_str()),
                (Some(state), Some(reason)),
                "{body}"
            );
        }
    };
    // A case Google keeps failing, then one waiting far too long.
    use calsync::db::schema::calendar_outbox;
    let stuck = uuid::Uuid::new_v4();
    diesel::insert_into(calendar_outbox::table)
        .values((
            calendar_outbox::user_id.eq(world.user),
            calendar_outbox::case_id.eq(stuck),
            calendar_outbox::attempts.eq(5),
            calendar_outbox::available_at.eq(chrono::Utc::now() + chrono::Duration::hours(1)),
        ))
        .execute(&mut conn)
        .unwrap();
    expect("delayed", "provider_errors").await;
    assert_eq!(status(&world).await["deadlines_waiting"], 1);
    diesel::update(calendar_outbox::table)
        .set((
            calendar_outbox::attempts.eq(0),
            calendar_outbox::created_at.eq(chrono::Utc::now() - chrono::Duration::hours(1)),
        ))
        .execute(&mut conn)
        .unwrap();
    expect("delayed", "work_overdue").await;
    diesel::delete(calendar_outbox::table)
        .execute(&mut conn)
        .unwrap();
    // The mass-dismissal breaker held the channel.
    diesel::update(calendar_sync_channels::table)
        .set(calendar_sync_channels::status.eq("held"))
        .execute(&mut conn)
        .unwrap();
    expect("action_required", "mass_dismissal_held").await;
    // The stored grant lacks the calendar scope.
    diesel::update(google_credentials::table)
        .set(google_credentials::scopes.eq("openid https://www.googleapis.com/auth/userinfo.email"))
        .execute(&mut conn)
        .unwrap();
    expect("action_required", "insufficient_scopes").await;
    // Google answered invalid_grant.
    diesel::update(google_credentials::table)
        .set(google_credentials::status.eq("revoked"))
        .execute(&mut conn)
        .unwrap();
    expect("action_required", "authorization_revoked").await;
    world.stop().await;
}

#[tokio::test]
async fn the_existing_calendar_mode_syncs_the_primary_calendar() {
    use calsync::config::CalendarMode;
    let world = ConnectWorld::start_with(|c| {
        c.mode = CalendarMode::Existing {
            calendar_id: "primary".into(),
        };
        c.scopes = c.mode.default_scopes();
    })
    .await;
    case_with_deadlines(&world);
    let landing = world.connect(&mut world.browser()).await;
    assert_eq!(
        landing.param("google_calendar").as_deref(),
        Some("connected")
    );
    assert_eq!(
        world.dedicated_calendar(),
        None,
        "no calendar of calsync's own"
    );
    let grants = world.w.emu.grants(&world.account.email).unwrap();
    assert!(
        grants[0]
            .scopes
            .iter()
            .any(|s| s.ends_with("/calendar.events"))
    );
    let primary = world.account.primary_calendar.clone();
    eventually(WITHIN, "both deadlines on the primary calendar", || async {
        live_events(&world, &primary).len() == 2
    })
    .await;
    let body = until_state(&world, "healthy").await;
    assert_eq!(body["calendar"]["id"], "primary");
    // Disconnecting with calendar=delete takes calsync's events off the user's own calendar.
    let (code, _) = world
        .call(Method::DELETE, "/api/google-calendar?calendar=delete")
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(live_events(&world, &primary).len(), 0);
    assert!(world.calendars().iter().any(|c| c.primary));
    world.stop().await;
}

#[tokio::test]
async fn the_calendar_takes_the_primary_calendars_zone_when_the_scopes_allow() {
    let world = ConnectWorld::start_with(|c| {
        c.scopes
            .push("https://www.googleapis.com/auth/calendar.calendarlist.readonly".into());
    })
    .await;
    world
        .w
        .emu
        .set_primary_time_zone(&world.account.email, "America/New_York")
        .unwrap();
    let landing = world.connect(&mut world.browser()).await;
    assert_eq!(
        landing.param("google_calendar").as_deref(),
        Some("connected")
    );
    let calendar = world.calendars().into_iter().find(|c| !c.primary).unwrap();
    assert_eq!(calendar.time_zone, "America/New_York");
    world.stop().await;
}
