//! OAuth: token grants, client checks, revocation, expiry, and the browserless consent flow.

use std::time::Duration;

use gcal_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

use super::support::{USER, client, refresh, start, start_with};

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

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn authorization_endpoint_redirects_with_code_and_state_and_code_exchanges_once() {
    let h = start().await;
    let redirect = "http://localhost:3000/oauth/google/callback";
    let res = h
        .http
        .get(&h.emu.urls().auth_url)
        .query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("scope", "https://www.googleapis.com/auth/calendar.events"),
            ("access_type", "offline"),
            ("prompt", "consent"),
            ("state", "csrf-123/x"),
            ("login_hint", USER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(redirect), "{location}");
    let pairs = query_of(&location);
    assert_eq!(param(&pairs, "state"), Some("csrf-123/x"));
    let code = param(&pairs, "code").unwrap().to_owned();

    let exchange = |code: String, redirect: &'static str| {
        let emu = &h.emu;
        async move {
            token_call(
                emu,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("client_id", CLIENT_ID),
                    ("client_secret", SECRET),
                ],
            )
            .await
        }
    };
    let (status, body) = exchange(code.clone(), redirect).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["scope"],
        "https://www.googleapis.com/auth/calendar.events"
    );
    let new_refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, h.user.refresh_token);
    // The new grant works, and codes are single-use.
    refresh(&h.http, &h.emu, &new_refresh).await;
    let (status, body) = exchange(code, redirect).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn code_exchange_checks_redirect_uri_and_online_access_gets_no_refresh_token() {
    let h = start().await;
    let auth = |access_type: &'static str| {
        h.http.get(&h.emu.urls().auth_url).query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", "http://localhost/cb"),
            ("response_type", "code"),
            ("scope", "https://www.googleapis.com/auth/calendar"),
            ("access_type", access_type),
        ])
    };
    let code_of = |res: reqwest::Response| {
        let pairs = query_of(res.headers()["location"].to_str().unwrap());
        param(&pairs, "code").unwrap().to_owned()
    };
    let code = code_of(auth("offline").send().await.unwrap());
    let (status, body) = token_call(
        &h.emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost/other"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("redirect_uri_mismatch"))
    );

    let code = code_of(auth("online").send().await.unwrap());
    let (status, body) = token_call(
        &h.emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost/cb"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.get("refresh_token").is_none());
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
}

#[tokio::test]
async fn denied_consent_and_bad_client_on_the_authorization_endpoint() {
    let h = start().await;
    h.emu.set_consent(None, true);
    let res = h
        .http
        .get(&h.emu.urls().auth_url)
        .query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", "http://localhost/cb"),
            ("response_type", "code"),
            ("scope", "s"),
            ("state", "abc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let pairs = query_of(res.headers()["location"].to_str().unwrap());
    assert_eq!(param(&pairs, "error"), Some("access_denied"));
    assert_eq!(param(&pairs, "state"), Some("abc"));
    assert_eq!(param(&pairs, "code"), None);

    let res = h
        .http
        .get(&h.emu.urls().auth_url)
        .query(&[
            ("client_id", "other"),
            ("redirect_uri", "http://localhost/cb"),
            ("scope", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        401,
        "a bad client gets an error page, not a redirect"
    );
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
