//! Every user endpoint takes the tracker's HS256 JWT; anything else is a 401 in JSON, and a
//! user never reaches another user's data.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::support::{ConnectWorld, JWT_SECRET};
use crate::helpers::builders::{insert_case, insert_user};

fn unsigned(header: &serde_json::Value, claims: &serde_json::Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn assert_refused(world: &ConnectWorld, token: Option<&str>) {
    let (status, body) = world
        .call_with(Method::GET, "/api/google-calendar/status", token)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "unauthorized", "{body}");
}

#[tokio::test]
async fn bad_tokens_answer_401_json() {
    let world = ConnectWorld::start().await;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": world.user, "exp": now + 600});
    // Missing, and not a JWT at all.
    assert_refused(&world, None).await;
    assert_refused(&world, Some("not-a-jwt")).await;
    // Expired.
    let expired =
        calsync::http::auth::sign(JWT_SECRET, &json!({"sub": world.user, "exp": now - 120}));
    assert_refused(&world, Some(&expired)).await;
    // No exp at all.
    let no_exp = calsync::http::auth::sign(JWT_SECRET, &json!({"sub": world.user}));
    assert_refused(&world, Some(&no_exp)).await;
    // alg: none, with and without a signature.
    let none = unsigned(&json!({"alg": "none", "typ": "JWT"}), &claims, "");
    assert_refused(&world, Some(&none)).await;
    // RS256 (here with an HMAC signature under the secret, the classic confusion attack).
    let good = calsync::http::auth::sign(JWT_SECRET, &claims);
    let signature = good.rsplit('.').next().unwrap();
    let rs256 = unsigned(&json!({"alg": "RS256", "typ": "JWT"}), &claims, signature);
    assert_refused(&world, Some(&rs256)).await;
    // Signed with another secret.
    let wrong = calsync::http::auth::sign("some-other-secret-0123456789abcdef", &claims);
    assert_refused(&world, Some(&wrong)).await;
    // A sub that is not a user id.
    let odd_sub = calsync::http::auth::sign(JWT_SECRET, &json!({"sub": "admin", "exp": now + 600}));
    assert_refused(&world, Some(&odd_sub)).await;
    // The good one passes.
    let (status, body) = world
        .call_with(Method::GET, "/api/google-calendar/status", Some(&good))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "not_connected");
    world.stop().await;
}

#[tokio::test]
async fn another_users_case_is_not_found() {
    let world = ConnectWorld::start().await;
    let (mine, theirs) = {
        let mut conn = world.w.db.conn();
        let other = insert_user(&mut conn);
        (
            insert_case(&mut conn, world.user),
            insert_case(&mut conn, other),
        )
    };
    let (status, body) = world
        .call(Method::GET, &format!("/api/cases/{}/calendar", mine.0))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["events"], json!([]));
    let (status, body) = world
        .call(Method::GET, &format!("/api/cases/{}/calendar", theirs.0))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = world
        .call(Method::GET, "/api/cases/not-a-uuid/calendar")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    world.stop().await;
}
