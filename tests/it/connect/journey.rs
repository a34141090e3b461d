//! A paralegal's whole path through HTTP: connect, the deadlines appear on "PERM Deadlines",
//! a move in Google reaches the case, pause, resume, disconnect; and the paths that need the
//! user to act (a calendar deleted in Google, a dead grant).

use std::time::Duration;

use calsync::db::models::google_credential;
use calsync::db::schema::{cases, google_calendar_connections, google_credentials};
use calsync::ids::CaseId;
use chrono::NaiveDate;
use diesel::prelude::*;
use gcal_emulator::EventTime;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::support::ConnectWorld;
use crate::helpers::builders::insert_case;
use crate::helpers::test_redis::eventually;

const WITHIN: Duration = crate::helpers::pipeline::WITHIN;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 6, d).unwrap()
}

/// An open case of the world's user with an I-140 and an RFE deadline.
fn case_with_deadlines(world: &ConnectWorld) -> CaseId {
    let mut conn = world.w.db.conn();
    let id = insert_case(&mut conn, world.user);
    diesel::update(cases::table.find(id))
        .set((
            cases::i140_filing_deadline.eq(day(1)),
            cases::rfe_due_date.eq(day(10)),
        ))
        .execute(&mut conn)
        .unwrap();
    id
}

fn live_events(world: &ConnectWorld, calendar: &str) -> Vec<Value> {
    world
        .w
        .emu
        .events(calendar)
        .into_iter()
        .filter(|e| e["status"] != "cancelled")
        .collect()
}

fn event_on(world: &ConnectWorld, calendar: &str, label: &str) -> Option<Value> {
    live_events(world, calendar)
        .into_iter()
        .find(|e| e["summary"].as_str().is_some_and(|s| s.starts_with(label)))
}

fn event_date(e: &Value) -> Option<String> {
    e["start"]["date"].as_str().map(str::to_owned)
}

async fn status(world: &ConnectWorld) -> Value {
    let (code, body) = world.call(Method::GET, "/api/google-calendar/status").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body
}

async fn until_state(world: &ConnectWorld, state: &str) -> Value {
    eventually(WITHIN, &format!("the status to be {state}"), || async {
        status(world).await["state"] == state
    })
    .await;
    status(world).await
}

#[tokio::test]
async fn connect_sync_both_ways_pause_resume_and_disconnect() {
    let world = ConnectWorld::start().await;
    let case_id = case_with_deadlines(&world);
    assert_eq!(status(&world).await["state"], "not_connected");

    // Connect: consent allowed, back on the tracker.
    let mut browser = world.browser();
    let landing = world.connect(&mut browser).await;
    assert_eq!(
        landing.param("google_calendar").as_deref(),
        Some("connected")
    );

    // The refresh token is stored sealed, and it is the one Google issued.
    let grants = world.w.emu.grants(&world.account.email).unwrap();
    assert!(
        grants[0]
            .scopes
            .iter()
            .any(|s| s.ends_with("calendar.app.created"))
    );
    let row = google_credential::find(&mut world.w.db.conn(), world.user)
        .unwrap()
        .unwrap();
    let issued = grants[0].refresh_tokens.last().unwrap();
    assert_eq!(&row.refresh_token(&world.w.cipher).unwrap(), issued);
    let raw: Vec<u8> = google_credentials::table
        .find(world.user)
        .select(google_credentials::refresh_token_ciphertext)
        .first(&mut world.w.db.conn())
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains(issued.as_str()));

    // "PERM Deadlines" exists, made by calsync's client, in the default zone (the narrow
    // scope cannot read the primary calendar's), and the deadlines appear on it.
    let calendar = world.calendars().into_iter().find(|c| !c.primary).unwrap();
    assert_eq!(calendar.summary, "PERM Deadlines");
    assert!(calendar.created_by_client.is_some());
    assert_eq!(calendar.time_zone, "America/Chicago");
    eventually(WITHIN, "both deadlines on the calendar", || async {
        live_events(&world, &calendar.id).len() == 2
    })
    .await;
    let body = until_state(&world, "healthy").await;
    assert_eq!(body["account_email"], world.account.email.as_str());
    assert_eq!(body["calendar"]["id"], calendar.id.as_str());
    assert_eq!(body["calendar"]["name"], "PERM Deadlines");
    assert!(body["channel_expires_at"].is_string(), "{body}");

    // The paralegal moves the I-140 deadline in Google: the case follows.
    let i140 = event_on(&world, &calendar.id, "I-140").unwrap();
    world
        .w
        .emu
        .user_move_event(
            &calendar.id,
            i140["id"].as_str().unwrap(),
            &EventTime::Date(day(15)),
            &EventTime::Date(day(16)),
        )
        .unwrap();
    eventually(WITHIN, "the move to reach the case", || async {
        cases::table
            .find(case_id)
            .select(cases::i140_filing_deadline)
            .first::<Option<NaiveDate>>(&mut world.w.db.conn())
            .unwrap()
            == Some(day(15))
    })
    .await;
    let (code, body) = world
        .call(Method::GET, &format!("/api/cases/{}/calendar", case_id.0))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["events"].as_array().unwrap().len(), 2, "{body}");
    assert!(
        body["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["field"] == "i140_filing_deadline" && a["outcome"] == "applied"),
        "{body}"
    );

    // Pause: the channel stops at Google.
    let (code, body) = world.call(Method::POST, "/api/google-calendar/pause").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "paused");
    assert!(world.w.emu.channels().iter().all(|c| c.stopped));
    // A tracker change while paused waits for the resume.
    diesel::update(cases::table.find(case_id))
        .set(cases::rfe_due_date.eq(day(20)))
        .execute(&mut world.w.db.conn())
        .unwrap();

    // Resume: watched again, and the change made while paused reaches Google.
    let (code, body) = world
        .call(Method::POST, "/api/google-calendar/resume")
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(world.w.emu.channels().iter().any(|c| !c.stopped));
    eventually(WITHIN, "the RFE change to reach Google", || async {
        event_on(&world, &calendar.id, "RFE")
            .as_ref()
            .and_then(event_date)
            == Some(day(20).to_string())
    })
    .await;
    until_state(&world, "healthy").await;

    // Disconnect, deleting the calendar: gone at Google, grant revoked, nothing kept.
    let (code, _) = world
        .call(Method::DELETE, "/api/google-calendar?calendar=delete")
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(world.dedicated_calendar(), None);
    assert!(world.w.emu.grants(&world.account.email).unwrap()[0].revoked);
    assert!(world.w.emu.channels().iter().all(|c| c.stopped));
    assert_eq!(status(&world).await["state"], "not_connected");
    // Idempotent.
    let (code, _) = world
        .call(Method::DELETE, "/api/google-calendar?calendar=delete")
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    world.stop().await;
}

#[tokio::test]
async fn disconnect_works_with_a_dead_grant_and_keep_renames_the_calendar() {
    let world = ConnectWorld::start().await;
    let mut browser = world.browser();
    let landing = world.connect(&mut browser).await;
    assert_eq!(
        landing.param("google_calendar").as_deref(),
        Some("connected")
    );
    let calendar = world.dedicated_calendar().unwrap();
    until_state(&world, "healthy").await;
    // Keep: renamed, still there.
    let (code, _) = world
        .call(Method::DELETE, "/api/google-calendar?calendar=keep")
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let kept = world
        .calendars()
        .into_iter()
        .find(|c| c.id == calendar)
        .unwrap();
    assert_eq!(kept.summary, "PERM Deadlines (sync stopped)");

    // Connect again, then the user removes the app at Google: disconnect still cleans up.
    let mut browser = world.browser();
    let landing = world.connect(&mut browser).await;
    assert_eq!(
        landing.param("google_calendar").as_deref(),
        Some("connected")
    );
    until_state(&world, "healthy").await;
    let token = world.w.emu.grants(&world.account.email).unwrap()[0]
        .refresh_tokens
        .last()
        .unwrap()
        .clone();
    world.w.emu.revoke_grant(&token).unwrap();
    let (code, _) = world
        .call(Method::DELETE, "/api/google-calendar?calendar=delete")
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let mut conn = world.w.db.conn();
    let left: i64 = google_credentials::table
        .filter(google_credentials::user_id.eq(world.user))
        .count()
        .get_result(&mut conn)
        .unwrap();
    let connections: i64 = google_calendar_connections::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!((left, connections), (0, 0));
    world.stop().await;
}

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
async fn reconnecting_keeps_the_calendar_and_its_events_and_one_google_account_has_one_user() {
    let world = ConnectWorld::start().await;
    case_with_deadlines(&world);
    let mut browser = world.browser();
    world.connect(&mut browser).await;
    let calendar = world.dedicated_calendar().unwrap();
    eventually(WITHIN, "both deadlines on the calendar", || async {
        live_events(&world, &calendar).len() == 2
    })
    .await;
    let ids: Vec<Value> = live_events(&world, &calendar)
        .iter()
        .map(|e| e["id"].clone())
        .collect();

    let landing = world.connect(&mut world.browser()).await;
    assert_eq!(
        landing.param("google_calendar").as_deref(),
        Some("connected")
    );
    assert_eq!(
        world.dedicated_calendar().as_deref(),
        Some(calendar.as_str())
    );
    until_state(&world, "healthy").await;
    let again: Vec<Value> = live_events(&world, &calendar)
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, again);
    // The stored grant is the newest one, and it works.
    let grants = world.w.emu.grants(&world.account.email).unwrap();
    let row = google_credential::find(&mut world.w.db.conn(), world.user)
        .unwrap()
        .unwrap();
    assert_eq!(
        &row.refresh_token(&world.w.cipher).unwrap(),
        grants[0].refresh_tokens.last().unwrap()
    );

    // Another tracker user signing in with the same Google account is refused.
    let other = crate::helpers::builders::insert_user(&mut world.w.db.conn());
    let (code, body) = world
        .call_with(
            Method::POST,
            "/api/google-calendar/connect",
            Some(&world.token_for(other)),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let mut second = world.browser();
    let page = second.open(body["url"].as_str().unwrap()).await;
    let landing = second.consent(&page, "allow", &[]).await;
    assert_eq!(
        landing.param("error").as_deref(),
        Some("account_already_linked")
    );
    world.stop().await;
}

#[tokio::test]
async fn a_real_browser_connects_and_the_deadlines_appear() {
    let world = ConnectWorld::start().await;
    case_with_deadlines(&world);
    let url = world.connect_url().await;
    let mut chrome = super::chromium::Chromium::launch();
    chrome.open(&url).await;
    chrome
        .wait_for(
            "!!document.querySelector('button[name=action][value=allow]')",
            WITHIN,
            |v| v == true,
        )
        .await;
    chrome
        .eval("document.querySelector('button[name=action][value=allow]').click(); true")
        .await;
    let landed = chrome
        .wait_for("location.href", WITHIN, |v| {
            v.as_str().is_some_and(|h| h.starts_with(&world.return_url))
        })
        .await;
    assert!(
        landed
            .as_str()
            .unwrap()
            .contains("google_calendar=connected"),
        "{landed}"
    );
    drop(chrome);

    let row = google_credential::find(&mut world.w.db.conn(), world.user)
        .unwrap()
        .expect("sealed credentials");
    let grants = world.w.emu.grants(&world.account.email).unwrap();
    assert_eq!(
        &row.refresh_token(&world.w.cipher).unwrap(),
        grants[0].refresh_tokens.last().unwrap()
    );
    let calendar = world
        .dedicated_calendar()
        .expect("PERM Deadlines at Google");
    eventually(WITHIN, "both deadlines on the calendar", || async {
        live_events(&world, &calendar).len() == 2
    })
    .await;
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
async fn switching_google_accounts_revokes_the_old_grant_and_moves_the_deadlines() {
    let world = ConnectWorld::start().await;
    case_with_deadlines(&world);
    world.connect(&mut world.browser()).await;
    let old_calendar = world.dedicated_calendar().unwrap();
    eventually(WITHIN, "both deadlines on the first account", || async {
        live_events(&world, &old_calendar).len() == 2
    })
    .await;
    let other = world
        .w
        .emu
        .add_account(&format!(
            "second-{}@example.com",
            uuid::Uuid::new_v4().simple()
        ))
        .unwrap();
    world.w.emu.set_signed_in_user(Some(&other.email)).unwrap();
    let landing = world.connect(&mut world.browser()).await;
    assert_eq!(
        landing.param("google_calendar").as_deref(),
        Some("connected")
    );
    // The first account's grant is revoked and its calendar kept, marked stopped.
    assert!(world.w.emu.grants(&world.account.email).unwrap()[0].revoked);
    let kept = world
        .calendars()
        .into_iter()
        .find(|c| c.id == old_calendar)
        .unwrap();
    assert_eq!(kept.summary, "PERM Deadlines (sync stopped)");
    // The second account has its own "PERM Deadlines" with every deadline.
    let new_calendar = world
        .w
        .emu
        .calendars(&other.email)
        .unwrap()
        .into_iter()
        .find(|c| !c.primary)
        .unwrap();
    assert_eq!(new_calendar.summary, "PERM Deadlines");
    eventually(WITHIN, "both deadlines on the second account", || async {
        live_events(&world, &new_calendar.id).len() == 2
    })
    .await;
    let body = until_state(&world, "healthy").await;
    assert_eq!(body["account_email"], other.email.as_str());
    world.stop().await;
}
