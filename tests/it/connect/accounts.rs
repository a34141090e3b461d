//! Grants and Google accounts over time: a dead grant's disconnect, reconnecting, one Google
//! account for one tracker user, switching accounts.

use calsync::db::models::google_credential;
use calsync::db::schema::{google_calendar_connections, google_credentials};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::facts::{WITHIN, case_with_deadlines, live_events, until_state};
use super::support::ConnectWorld;
use crate::helpers::test_redis::eventually;

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
