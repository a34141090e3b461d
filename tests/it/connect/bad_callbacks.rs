//! Each way a connect flow can be tampered with or cut short stores nothing: no credentials,
//! no connection, no calendar.

use calsync::db::schema::{google_calendar_connections, google_credentials, oauth_connect_flows};
use diesel::prelude::*;
use reqwest::StatusCode;

use super::browser::Landing;
use super::support::ConnectWorld;
use calsync::connect::flow::BROWSER_COOKIE;

const APP_CREATED: &str = "https://www.googleapis.com/auth/calendar.app.created";

fn assert_nothing_stored(world: &ConnectWorld) {
    let mut conn = world.w.db.conn();
    let creds: i64 = google_credentials::table
        .filter(google_credentials::user_id.eq(world.user))
        .count()
        .get_result(&mut conn)
        .unwrap();
    let links: i64 = google_calendar_connections::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!((creds, links), (0, 0), "something was stored");
    assert_eq!(world.dedicated_calendar(), None, "a calendar was created");
}

/// A refused state goes no further: no code was exchanged at Google's token endpoint.
fn assert_no_code_exchanged(world: &ConnectWorld) {
    let exchanges: Vec<_> = world
        .w
        .emu
        .requests()
        .into_iter()
        .filter(|r| r.body.contains("grant_type=authorization_code"))
        .map(|r| (r.status, r.path))
        .collect();
    assert!(
        exchanges.is_empty(),
        "a code exchange was tried: {exchanges:?}"
    );
}

/// The callback URL Google would send the browser to, taken from the consent page's answer
/// without following it.
fn refused(landing: &Landing, why: &str) {
    let (status, body) = landing.page();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains(why), "{body}");
}

#[tokio::test]
async fn a_forged_state_is_refused() {
    let world = ConnectWorld::start().await;
    let mut browser = world.browser();
    let page = world.to_consent(&mut browser).await;
    drop(page);
    let forged = format!("{}/oauth/google/callback?state=forged&code=abc", world.base);
    refused(&browser.open(&forged).await, "not known");
    let missing = format!("{}/oauth/google/callback?code=abc", world.base);
    refused(&browser.open(&missing).await, "incomplete");
    assert_nothing_stored(&world);
    assert_no_code_exchanged(&world);
    world.stop().await;
}

#[tokio::test]
async fn a_connect_link_works_once() {
    let world = ConnectWorld::start().await;
    let url = world.connect_url().await;
    let mut browser = world.browser();
    let first = browser.open(&url).await;
    assert!(first.page().1.contains("name=\"action\" value=\"allow\""));
    assert!(browser.has_cookie(BROWSER_COOKIE));
    refused(&browser.open(&url).await, "already used");
    refused(&world.browser().open(&url).await, "already used");
    world.stop().await;
}

/// Allows the consent but keeps Google's redirect back instead of following it.
async fn callback_url(world: &ConnectWorld, browser: &mut super::browser::Browser) -> String {
    let page = world.to_consent(browser).await;
    // Stop before calsync's callback: its URL is what an attacker could replay.
    let mut peek = super::browser::Browser::new(&format!("{}/oauth/google/callback", world.base));
    let landing = peek.consent(&page, "allow", &[]).await;
    landing.returned().to_string()
}

#[tokio::test]
async fn a_reused_state_is_refused_and_the_first_use_stands() {
    let world = ConnectWorld::start().await;
    let mut browser = world.browser();
    let callback = callback_url(&world, &mut browser).await;
    let landing = browser.open(&callback).await;
    assert_eq!(
        landing.param("google_calendar").as_deref(),
        Some("connected")
    );
    refused(&browser.open(&callback).await, "already used");
    world.stop().await;
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let world = ConnectWorld::start().await;
    let mut browser = world.browser();
    let callback = callback_url(&world, &mut browser).await;
    diesel::update(oauth_connect_flows::table)
        .set(oauth_connect_flows::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut world.w.db.conn())
        .unwrap();
    refused(&browser.open(&callback).await, "expired");
    assert_nothing_stored(&world);
    assert_no_code_exchanged(&world);
    world.stop().await;
}

#[tokio::test]
async fn a_state_from_another_browser_is_refused() {
    let world = ConnectWorld::start().await;
    let mut browser = world.browser();
    let callback = callback_url(&world, &mut browser).await;
    // The victim's browser opens the attacker's callback: it lacks the flow's cookie.
    let mut other = browser.other();
    refused(&other.open(&callback).await, "another browser");
    // With someone else's flow cookie it is refused just the same.
    let mut third = world.browser();
    let _ = world.to_consent(&mut third).await;
    refused(&third.open(&callback).await, "another browser");
    assert_nothing_stored(&world);
    assert_no_code_exchanged(&world);
    // The right browser can still finish: the refusals used nothing up.
    let landing = browser.open(&callback).await;
    assert_eq!(
        landing.param("google_calendar").as_deref(),
        Some("connected")
    );
    world.stop().await;
}

#[tokio::test]
async fn denied_consent_returns_access_denied_and_stores_nothing() {
    let world = ConnectWorld::start().await;
    let mut browser = world.browser();
    let page = world.to_consent(&mut browser).await;
    let landing = browser.consent(&page, "deny", &[]).await;
    assert_eq!(landing.param("error").as_deref(), Some("access_denied"));
    assert!(
        !browser.has_cookie(BROWSER_COOKIE),
        "the flow cookie is cleared"
    );
    assert_nothing_stored(&world);
    world.stop().await;
}

#[tokio::test]
async fn an_unticked_calendar_scope_returns_missing_scope_and_stores_nothing() {
    let world = ConnectWorld::start().await;
    let mut browser = world.browser();
    let page = world.to_consent(&mut browser).await;
    let landing = browser.consent(&page, "allow", &[APP_CREATED]).await;
    // The sign-in scopes are still granted, so Google answers with a code: calsync refuses it.
    assert_eq!(landing.param("error").as_deref(), Some("missing_scope"));
    assert_nothing_stored(&world);
    world.stop().await;
}

#[tokio::test]
async fn a_missing_refresh_token_asks_for_consent_again_once() {
    let world = ConnectWorld::start().await;
    // Google answers the first exchange without a refresh token: calsync sends the same
    // browser back to the consent page with a new state, and the second consent connects.
    world.w.emu.withhold_refresh_tokens(1);
    let mut browser = world.browser();
    let page = world.to_consent(&mut browser).await;
    let again = browser.consent(&page, "allow", &[]).await;
    assert!(
        again.page().1.contains("value=\"allow\""),
        "a second consent page"
    );
    let landing = browser.consent(&again, "allow", &[]).await;
    assert_eq!(
        landing.param("google_calendar").as_deref(),
        Some("connected")
    );

    // Twice in a row: the user is told, and nothing is stored.
    let other = ConnectWorld::start().await;
    other.w.emu.withhold_refresh_tokens(2);
    let mut browser = other.browser();
    let page = other.to_consent(&mut browser).await;
    let again = browser.consent(&page, "allow", &[]).await;
    let landing = browser.consent(&again, "allow", &[]).await;
    assert_eq!(landing.param("error").as_deref(), Some("consent_required"));
    assert_nothing_stored(&other);
    world.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn the_link_sets_a_flow_cookie_and_asks_google_for_offline_pkce_consent() {
    let world = ConnectWorld::start().await;
    let url = world.connect_url().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with(&format!("{BROWSER_COOKIE}=")),
        "{cookie}"
    );
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/oauth/google",
        "Max-Age=600",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
    let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&world.w.emu.urls().auth_url));
    let q: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["include_granted_scopes"], "true");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(
        q["redirect_uri"],
        format!("{}/oauth/google/callback", world.base)
    );
    assert_eq!(q["scope"], format!("openid email {APP_CREATED}"));
    assert!(q["state"].len() >= 43);
    // Only a hash of the state is stored: its SHA-256 is there, the state itself nowhere.
    let hashes: Vec<Vec<u8>> = oauth_connect_flows::table
        .select(oauth_connect_flows::state_hash)
        .load::<Option<Vec<u8>>>(&mut world.w.db.conn())
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    use sha2::Digest;
    let state_hash = sha2::Sha256::digest(q["state"].as_bytes()).to_vec();
    assert_eq!(hashes, vec![state_hash]);
    let stored: Vec<String> =
        diesel::sql_query("SELECT row_to_json(f)::text AS text FROM oauth_connect_flows f")
            .load::<RowText>(&mut world.w.db.conn())
            .unwrap()
            .into_iter()
            .map(|r| r.text)
            .collect();
    assert!(
        stored.iter().all(|row| !row.contains(q["state"].as_str())),
        "the state in clear: {stored:?}"
    );
    world.stop().await;
}

#[derive(QueryableByName)]
struct RowText {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}
