//! A paralegal's whole path through HTTP: connect, the deadlines appear on "PERM Deadlines",
//! a move in Google reaches the case, pause, resume, disconnect; and the same connect in a
//! real browser.

use calsync::db::models::google_credential;
use calsync::db::schema::{cases, google_credentials};
use chrono::NaiveDate;
use diesel::prelude::*;
use gcal_emulator::EventTime;
use reqwest::{Method, StatusCode};

use super::facts::{
    WITHIN, case_with_deadlines, day, event_date, event_on, live_events, status, until_state,
};
use super::support::ConnectWorld;
use crate::helpers::test_redis::eventually;

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
    let at_google = world.w.emu.channels();
    assert!(!at_google.is_empty() && at_google.iter().all(|c| c.stopped));
    let (code, body) = world
        .call(Method::POST, "/api/google-calendar/resync")
        .await;
    assert_eq!(
        code,
        StatusCode::CONFLICT,
        "a paused sync is resumed, not resynced: {body}"
    );
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
    let at_google = world.w.emu.channels();
    assert!(!at_google.is_empty() && at_google.iter().all(|c| c.stopped));
    assert_eq!(status(&world).await["state"], "not_connected");
    // Idempotent.
    let (code, _) = world
        .call(Method::DELETE, "/api/google-calendar?calendar=delete")
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
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
