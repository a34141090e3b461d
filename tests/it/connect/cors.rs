//! The tracker's pages call the user API from their own origin: the origins of
//! `API_ALLOWED_ORIGINS` get CORS answers, any other gets none (the browser then keeps the
//! answer from the page).

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, AUTHORIZATION, ORIGIN,
};
use reqwest::{Method, StatusCode};

use super::support::{ConnectWorld, TRACKER_ORIGIN};

const STATUS: &str = "/api/google-calendar/status";

fn preflight(world: &ConnectWorld, origin: &str) -> reqwest::RequestBuilder {
    world
        .api
        .request(Method::OPTIONS, format!("{}{STATUS}", world.base))
        .header(ORIGIN, origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
}

fn allowed_origin(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[actix_web::test]
async fn the_trackers_origin_may_call_the_user_api_from_a_page() {
    let world = ConnectWorld::start().await;
    let answer = preflight(&world, TRACKER_ORIGIN).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(allowed_origin(&answer).as_deref(), Some(TRACKER_ORIGIN));
    assert!(
        answer
            .headers()
            .get(ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none(),
        "no cookies: the bearer token is a header"
    );

    let status = world
        .api
        .get(format!("{}{STATUS}", world.base))
        .header(ORIGIN, TRACKER_ORIGIN)
        .header(
            AUTHORIZATION,
            format!("Bearer {}", world.token_for(world.user)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::OK);
    assert_eq!(allowed_origin(&status).as_deref(), Some(TRACKER_ORIGIN));
    world.stop().await;
}

#[actix_web::test]
async fn any_other_origin_gets_no_cors_answer() {
    let world = ConnectWorld::start().await;
    let answer = preflight(&world, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert_eq!(allowed_origin(&answer), None);

    let status = world
        .api
        .get(format!("{}{STATUS}", world.base))
        .header(ORIGIN, "https://evil.example")
        .header(
            AUTHORIZATION,
            format!("Bearer {}", world.token_for(world.user)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::BAD_REQUEST, "refused, not run");
    assert_eq!(allowed_origin(&status), None);
    world.stop().await;
}
