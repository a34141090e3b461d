//! `serve`'s real server on port 0 over TCP (the other tests run the app in-process).

use std::net::SocketAddr;

use calsync::config::HttpConfig;
use calsync::http;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::test_app::TestApp;

pub(crate) async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[actix_web::test]
async fn serve_answers_over_tcp() {
    let t = TestApp::ingress_only();
    let config = HttpConfig {
        bind_addr: "127.0.0.1:0".parse().unwrap(),
        admin_bind_addr: "127.0.0.1:0".parse().unwrap(),
        workers: 1,
    };
    // As `serve` runs it: each HTTP worker thread records over a connection of its own.
    let state = t
        .state
        .clone()
        .with_connection_per_thread(calsync::config::RedisConfig::for_url(t.redis.url()));
    let (server, addr) = http::listen(state, &config).unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let health = raw(
        addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let token = t.token("chan-tcp");
    let post = format!(
        "POST /api/webhooks/google-calendar HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         X-Goog-Channel-ID: chan-tcp\r\nX-Goog-Channel-Token: {token}\r\n\
         X-Goog-Resource-State: exists\r\nX-Goog-Message-Number: 12\r\n\
         X-Goog-Resource-ID: res-1\r\nContent-Length: 0\r\n\r\n"
    );
    let res = raw(addr, &post).await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert_eq!(t.redis.waiting_calendar_changes().await.len(), 1);
    handle.stop(true).await;
}
