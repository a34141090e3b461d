//! Who connected: the id_token (RS256, verifiable with the JWKS) and the userinfo endpoint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::Value;

use super::support::{
    CONNECTING, EVENTS, Harness, REDIRECT, VERIFIER, auth_params, call_as, connect, connect_only,
    consent_code, exchange, start_oauth, with,
};

/// Verifies the JWT's signature against the emulator's JWKS and returns its claims.
async fn verified_claims(h: &Harness, jwt: &str) -> Value {
    let jwks: Value = h
        .http
        .get(&h.emu.urls().jwks_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut parts = jwt.split('.');
    let (header, claims, sig) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the kid is in the JWKS");
    let component = |name: &str| URL_SAFE_NO_PAD.decode(key[name].as_str().unwrap()).unwrap();
    ring::signature::RsaPublicKeyComponents {
        n: component("n"),
        e: component("e"),
    }
    .verify(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        format!("{}.{}", jwt.split('.').next().unwrap(), claims).as_bytes(),
        &URL_SAFE_NO_PAD.decode(sig).unwrap(),
    )
    .expect("signature verifies");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap()
}

#[tokio::test]
async fn the_id_token_names_the_account_and_verifies_with_the_jwks() {
    let h = start_oauth().await;
    let params = with(auth_params("openid email"), "nonce", Some("n-0S6"));
    let code = consent_code(&h, &params).await;
    let (status, token) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{token}");
    let claims = verified_claims(&h, token["id_token"].as_str().unwrap()).await;
    let account = h.emu.account(CONNECTING).unwrap();
    assert_eq!(claims["sub"], account.sub.as_str());
    assert_eq!(account.sub.len(), 21);
    assert!(account.sub.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(claims["email"], CONNECTING);
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["iss"], "https://accounts.google.com");
    assert_eq!(
        claims["aud"],
        "calsync-test-client.apps.googleusercontent.com"
    );
    assert_eq!(claims["azp"], claims["aud"]);
    assert_eq!(claims["nonce"], "n-0S6");
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + 3600);
    assert!(claims["at_hash"].is_string());

    // The sub is stable: a second connect reports the same one.
    let again = connect_only(&h, "openid").await;
    let claims = verified_claims(&h, again["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], account.sub.as_str());
    assert!(
        claims.get("email").is_none(),
        "no email claim without the email scope"
    );

    let no_openid = connect_only(&h, EVENTS).await;
    assert!(no_openid.get("id_token").is_none());
}

#[tokio::test]
async fn userinfo_answers_sub_and_email_for_a_sign_in_token_only() {
    let h = start_oauth().await;
    let token = connect(&h, "openid email").await;
    let access = token["access_token"].as_str().unwrap();
    let res = h
        .http
        .get(&h.emu.urls().userinfo_url)
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["sub"], h.emu.account(CONNECTING).unwrap().sub.as_str());
    assert_eq!(info["email"], CONNECTING);
    assert_eq!(info["email_verified"], true);

    let bad = h
        .http
        .get(&h.emu.urls().userinfo_url)
        .bearer_auth("ya29.forged")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);

    let calendar_only = connect_only(&h, EVENTS).await;
    let res = h
        .http
        .get(&h.emu.urls().userinfo_url)
        .bearer_auth(calendar_only["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // And a sign-in-only token reaches no Calendar method.
    let events = call_as(&h, access, Method::GET, "/calendars/primary/events", None).await;
    assert_eq!(
        (events.status, events.reason()),
        (403, "insufficientPermissions")
    );
}

#[tokio::test]
async fn the_discovery_document_points_at_the_emulator() {
    let h = start_oauth().await;
    let doc: Value = h
        .http
        .get(&h.emu.urls().discovery_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let urls = h.emu.urls();
    assert_eq!(doc["issuer"], "https://accounts.google.com");
    assert_eq!(doc["authorization_endpoint"], urls.auth_url.as_str());
    assert_eq!(doc["token_endpoint"], urls.token_url.as_str());
    assert_eq!(doc["userinfo_endpoint"], urls.userinfo_url.as_str());
    assert_eq!(doc["jwks_uri"], urls.jwks_url.as_str());
    assert_eq!(doc["revocation_endpoint"], urls.revoke_url.as_str());
}
