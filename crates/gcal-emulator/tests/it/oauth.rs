//! OAuth: the refresh grant, client checks, revocation and expiry. The consent flow and the
//! code exchange are in `consent.rs` and `code_exchange.rs`.

use std::time::Duration;

use gcal_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

use super::support::{client, refresh, start, start_with};

const CLIENT_ID: &str = "calsync-test-client.apps.googleusercontent.com";
const SECRET: &str = "calsync-test-secret";

async fn token_call(emu: &Emulator, form: &[(&str, &str)]) -> (u16, Value) {
    let res = client()
        .post(&emu.urls().token_url)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

fn refresh_form(refresh_token: &str) -> [(&str, &str); 4] {
    [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
    ]
}

#[tokio::test]
async fn refresh_grant_issues_a_bearer_token_that_works() {
    let h = start().await;
    let (status, body) = token_call(
        &h.emu,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &h.user.refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["scope"].as_str().unwrap().contains("auth/calendar"));
    assert!(
        body.get("refresh_token").is_none(),
        "refresh answers carry no new refresh token"
    );
    assert_eq!(h.list("").await.status, 200);
}

#[tokio::test]
async fn client_credentials_via_http_basic_are_accepted() {
    let h = start().await;
    let res = client()
        .post(&h.emu.urls().token_url)
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &h.user.refresh_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn unknown_or_revoked_refresh_token_is_invalid_grant() {
    let h = start().await;
    let (status, body) = token_call(&h.emu, &refresh_form("1//nope")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "Token has been expired or revoked."
    );

    h.emu.revoke_grant(&h.user.refresh_token).unwrap();
    let (status, body) = token_call(&h.emu, &refresh_form(&h.user.refresh_token)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Access tokens of a revoked grant stop working at once.
    let list = h.list("").await;
    assert_eq!((list.status, list.reason()), (401, "authError"));
}

#[tokio::test]
async fn bad_client_is_invalid_client() {
    let h = start().await;
    for (id, secret, description) in [
        ("someone-else", SECRET, "The OAuth client was not found."),
        (CLIENT_ID, "wrong", "Unauthorized"),
    ] {
        let (status, body) = token_call(
            &h.emu,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &h.user.refresh_token),
                ("client_id", id),
                ("client_secret", secret),
            ],
        )
        .await;
        assert_eq!(status, 401);
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_description"], description);
    }
    let (status, body) = token_call(
        &h.emu,
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn access_tokens_expire_after_the_configured_lifetime() {
    let h = start_with(EmulatorConfig {
        access_token_lifetime: Duration::from_millis(1000),
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(h.list("").await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = h.list("").await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.reason(), "authError");
    assert_eq!(
        expired.body["error"]["errors"][0]["location"],
        "Authorization"
    );
    assert_eq!(expired.body["error"]["message"], "Invalid Credentials");
}

#[tokio::test]
async fn expire_access_tokens_knob_forces_a_refresh() {
    let h = start().await;
    h.emu.expire_access_tokens();
    assert_eq!(h.list("").await.status, 401);
    let fresh = refresh(&h.http, &h.emu, &h.user.refresh_token).await;
    let res = h
        .http
        .get(format!(
            "{}/calendars/primary/events",
            h.emu.urls().api_base
        ))
        .bearer_auth(fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn missing_or_unknown_bearer_is_401_auth_error() {
    let h = start().await;
    let url = format!("{}/calendars/primary/events", h.emu.urls().api_base);
    for req in [
        h.http.get(&url),
        h.http.get(&url).bearer_auth("ya29.forged"),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["errors"][0]["reason"], "authError");
        assert_eq!(body["error"]["code"], 401);
    }
}

#[tokio::test]
async fn revoke_endpoint_revokes_the_grant() {
    let h = start().await;
    let res = h
        .http
        .post(&h.emu.urls().revoke_url)
        .form(&[("token", &h.token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, _) = token_call(
        &h.emu,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &h.user.refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn revoking_a_connected_refresh_token_ends_its_access_tokens_and_the_grant() {
    use super::support::{CONNECTING, call_as, connect, start_oauth};
    let h = start_oauth().await;
    let token = connect(
        &h,
        "openid email https://www.googleapis.com/auth/calendar.events",
    )
    .await;
    let refresh_token = token["refresh_token"].as_str().unwrap();
    let access = token["access_token"].as_str().unwrap();
    let res = h
        .http
        .post(format!(
            "{}?token={}",
            h.emu.urls().revoke_url,
            refresh_token
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let listed = call_as(
        &h,
        access,
        reqwest::Method::GET,
        "/calendars/primary/events",
        None,
    )
    .await;
    assert_eq!((listed.status, listed.reason()), (401, "authError"));
    let (status, body) = token_call(&h.emu, &refresh_form(refresh_token)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let grants = h.emu.grants(CONNECTING).unwrap();
    assert!(grants[0].revoked);

    // Unknown or already revoked tokens: 400 invalid_token.
    for t in [refresh_token, "1//never-issued", access] {
        let res = h
            .http
            .post(&h.emu.urls().revoke_url)
            .form(&[("token", t)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token");
    }

    // Revoking an access token revokes its refresh token too.
    let token = connect(&h, "openid email").await;
    let res = h
        .http
        .post(&h.emu.urls().revoke_url)
        .form(&[("token", token["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, _) = token_call(
        &h.emu,
        &refresh_form(token["refresh_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 400);
}
