//! `/readyz` and `/metrics` reach PostgreSQL and Redis: they are served on the admin address
//! only, and the public port answers them 404.

use calsync::config::HttpConfig;
use calsync::http;

use crate::helpers::test_app::TestApp;
use crate::webhook::server::raw;

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
}

#[actix_web::test]
async fn operational_endpoints_answer_only_on_the_admin_address() {
    let t = TestApp::new();
    let config = HttpConfig {
        bind_addr: "127.0.0.1:0".parse().unwrap(),
        admin_bind_addr: "127.0.0.1:0".parse().unwrap(),
        workers: 1,
    };
    let (server, public) = http::listen(t.state.clone(), &config).unwrap();
    let admin = server.admin_addr();
    assert_ne!(public, admin);
    let handle = server.handle();
    actix_web::rt::spawn(server);

    // An outsider on the public port: no readiness detail, no metrics, no database query.
    for path in ["/metrics", "/readyz"] {
        let res = raw(public, &get(path)).await;
        assert!(
            res.starts_with("HTTP/1.1 404"),
            "{path} on the public port: {res}"
        );
        assert!(!res.contains("calsync_"), "{res}");
    }
    let res = raw(public, &get("/healthz")).await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");

    // The operator's side.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let res = raw(admin, &get(path)).await;
        assert!(
            res.starts_with("HTTP/1.1 200"),
            "{path} on the admin port: {res}"
        );
    }
    let metrics = raw(admin, &get("/metrics")).await;
    assert!(metrics.contains("calsync_outbox_rows 0"), "{metrics}");
    // The admin port serves no webhook.
    let post = "POST /api/webhooks/google-calendar HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                Content-Length: 0\r\n\r\n";
    assert!(raw(admin, post).await.starts_with("HTTP/1.1 404"));
    handle.stop(true).await;
}

#[test]
fn admin_bind_addr_defaults_to_loopback() {
    // The default keeps the admin endpoints off every network interface.
    let config = HttpConfig::from_env().unwrap();
    if std::env::var_os("ADMIN_BIND_ADDR").is_none() {
        assert!(config.admin_bind_addr.ip().is_loopback());
        assert_eq!(config.admin_bind_addr.port(), 9090);
    }
}
