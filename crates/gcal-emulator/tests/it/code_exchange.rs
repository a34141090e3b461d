//! The token endpoint's `authorization_code` grant: codes are single-use, short-lived and
//! bound to client, redirect URI and PKCE challenge; and when a refresh token comes back.

use std::time::Duration;

use gcal_emulator::EmulatorConfig;
use serde_json::Value;

use super::support::{
    APP_CREATED, CONNECTING, Harness, REDIRECT, VERIFIER, auth_params, authorize, connect,
    consent_code, exchange, oauth_config, param, refresh, start_oauth, start_with, with,
};

const SCOPES: &str = "openid email https://www.googleapis.com/auth/calendar.app.created";

fn error_of(body: &Value) -> (&str, &str) {
    (
        body["error"].as_str().unwrap_or(""),
        body["error_description"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn a_code_works_once_and_a_made_up_code_is_malformed() {
    let h = start_oauth().await;
    let code = consent_code(&h, &auth_params(SCOPES)).await;
    let (status, token) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    assert!(token["access_token"].as_str().unwrap().starts_with("ya29."));
    assert!(token["refresh_token"].as_str().unwrap().starts_with("1//"));

    let (status, body) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_grant", "Bad Request"))
    );
    let (status, body) = exchange(&h, "4/0made-up", REDIRECT, Some(VERIFIER)).await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_grant", "Malformed auth code."))
    );
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let h = start_with(EmulatorConfig {
        auth_code_lifetime: Duration::from_millis(300),
        ..oauth_config()
    })
    .await;
    let code = consent_code(&h, &auth_params(SCOPES)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!((status, error_of(&body).0), (400, "invalid_grant"));
}

#[tokio::test]
async fn the_pkce_verifier_must_match_the_challenge() {
    let h = start_oauth().await;
    let code = consent_code(&h, &auth_params(SCOPES)).await;
    let wrong = "x".repeat(43);
    let (status, body) = exchange(&h, &code, REDIRECT, Some(&wrong)).await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_grant", "Invalid code verifier."))
    );
    // The failed attempt used the code up.
    let (_, body) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(error_of(&body).0, "invalid_grant");

    let code = consent_code(&h, &auth_params(SCOPES)).await;
    let (_, body) = exchange(&h, &code, REDIRECT, None).await;
    assert_eq!(error_of(&body), ("invalid_grant", "Missing code verifier."));

    let plain = with(
        with(auth_params(SCOPES), "code_challenge", Some(VERIFIER)),
        "code_challenge_method",
        Some("plain"),
    );
    let code = consent_code(&h, &plain).await;
    let (status, _) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(status, 200);

    let no_pkce = with(
        with(auth_params(SCOPES), "code_challenge", None),
        "code_challenge_method",
        None,
    );
    let code = consent_code(&h, &no_pkce).await;
    let (_, body) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(
        error_of(&body),
        ("invalid_grant", "code_verifier or verifier is not needed.")
    );
    let code = consent_code(&h, &no_pkce).await;
    assert_eq!(exchange(&h, &code, REDIRECT, None).await.0, 200);
}

#[tokio::test]
async fn the_redirect_uri_must_be_the_one_of_the_authorization_request() {
    let h = start_oauth().await;
    let code = consent_code(&h, &auth_params(SCOPES)).await;
    let (status, body) =
        exchange(&h, &code, "http://localhost:3000/elsewhere", Some(VERIFIER)).await;
    assert_eq!((status, error_of(&body).0), (400, "redirect_uri_mismatch"));
}

async fn exchange_as(h: &Harness, client: &str, secret: &str, code: &str) -> (u16, Value) {
    let res = h
        .http
        .post(&h.emu.urls().token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client),
            ("client_secret", secret),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_the_client_must_authenticate() {
    let h = start_oauth().await;
    h.emu.add_client(
        "other-app.apps.googleusercontent.com",
        "other-secret",
        &[REDIRECT],
    );
    let code = consent_code(&h, &auth_params(SCOPES)).await;
    let (status, body) = exchange_as(
        &h,
        "other-app.apps.googleusercontent.com",
        "other-secret",
        &code,
    )
    .await;
    assert_eq!((status, error_of(&body).0), (400, "invalid_grant"));

    let code = consent_code(&h, &auth_params(SCOPES)).await;
    let (status, body) = exchange_as(
        &h,
        "calsync-test-client.apps.googleusercontent.com",
        "wrong",
        &code,
    )
    .await;
    assert_eq!((status, error_of(&body).0), (401, "invalid_client"));
}

#[tokio::test]
async fn refresh_tokens_come_with_offline_access_and_only_on_fresh_consent() {
    let h = start_oauth().await;
    let first = connect(&h, SCOPES).await;
    let first_refresh = first["refresh_token"].as_str().unwrap().to_owned();
    // prompt=consent: a new refresh token every time.
    let second = connect(&h, SCOPES).await;
    let second_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(first_refresh, second_refresh);

    // Re-consent without prompt=consent: Google skips the page and omits the refresh token;
    // the one the app holds keeps working.
    let params = with(auth_params(SCOPES), "prompt", None);
    let answer = authorize(&h, &params).await;
    let code = param(&answer.redirect_params(), "code").unwrap().to_owned();
    let (status, body) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(status, 200);
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body["access_token"].is_string());
    refresh(&h.http, &h.emu, &first_refresh).await;

    // Online access never gets one.
    let online = with(auth_params(SCOPES), "access_type", Some("online"));
    let code = consent_code(&h, &online).await;
    let (_, body) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert!(body.get("refresh_token").is_none());

    // After the user removes the app's access, the next offline consent yields one again.
    h.emu.revoke_grant(&first_refresh).unwrap();
    let grants = h.emu.grants(CONNECTING).unwrap();
    assert!(grants[0].revoked);
    assert!(grants[0].refresh_tokens.is_empty());
    let code = consent_code(&h, &params).await;
    let (_, body) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert!(body["refresh_token"].is_string(), "{body}");
    let grants = h.emu.grants(CONNECTING).unwrap();
    assert!(!grants[0].revoked);
    assert_eq!(
        grants[0].scopes,
        vec![
            APP_CREATED.to_owned(),
            "https://www.googleapis.com/auth/userinfo.email".to_owned(),
            "openid".to_owned()
        ]
    );
    assert_eq!(
        grants[0].refresh_tokens,
        vec![body["refresh_token"].as_str().unwrap()]
    );
}
