//! Request metrics take their labels from fixed sets: invented methods and paths cannot grow
//! `/metrics` without bound.

use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use calsync::http;

use crate::helpers::test_app::{TestApp, send};

fn series(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| l.starts_with("calsync_http_request_duration_seconds_count"))
        .collect()
}

#[actix_web::test]
async fn invented_methods_and_paths_do_not_grow_metrics() {
    let t = TestApp::new();
    let app = test::init_service(http::app(t.state.clone())).await;
    let admin = test::init_service(http::admin_app(t.state.clone())).await;
    let scrape = || TestRequest::get().uri("/metrics").to_request();

    // A few ordinary requests first, to see what a scrape holds without an attack.
    send(&app, TestRequest::get().uri("/healthz").to_request()).await;
    send(&app, TestRequest::get().uri("/nope").to_request()).await;
    send(&admin, scrape()).await;
    let (_, before) = send(&admin, scrape()).await;

    for i in 0..1500 {
        let method = Method::from_bytes(format!("X{i:05}ATTACK").as_bytes()).unwrap();
        let req = TestRequest::default()
            .method(method)
            .uri(&format!("/invented/{i}"))
            .to_request();
        let (status, _) = send(&app, req).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Invented methods on real routes too (actix answers 404/405 there).
        let method = Method::from_bytes(format!("Y{i:05}ATTACK").as_bytes()).unwrap();
        let req = TestRequest::default()
            .method(method)
            .uri("/api/webhooks/google-calendar")
            .to_request();
        send(&app, req).await;
    }
    let (status, after) = send(&admin, scrape()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!after.contains("ATTACK"), "a raw method became a label");
    assert!(!after.contains("/invented"), "a raw path became a label");
    for line in series(&after) {
        let labels = &line[line.find('{').unwrap()..=line.find('}').unwrap()];
        assert!(
            [
                "GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "other"
            ]
            .iter()
            .any(|m| labels.contains(&format!("method=\"{m}\""))),
            "{line}"
        );
    }
    // 3000 attacking requests add at most a couple of series (method "other" on the two
    // routes they hit), and the scrape stays small.
    assert!(
        series(&after).len() <= series(&before).len() + 3,
        "before:\n{before}\nafter:\n{after}"
    );
    assert!(
        after.len() < 2 * before.len() + 8 * 1024,
        "{} bytes",
        after.len()
    );
    assert!(after.contains(r#"method="other",route="unmatched",status="404""#));
}
