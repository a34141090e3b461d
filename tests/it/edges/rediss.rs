//! `rediss://` is supported: such a URL is accepted and the client speaks TLS (here to a
//! plaintext Redis, so the handshake fails), rather than refusing the scheme.

use std::time::Duration;

use calsync::config::RedisConfig;
use calsync::queue;

#[tokio::test]
async fn a_rediss_url_parses_and_fails_only_at_the_tls_handshake() {
    // The test Redis speaks plaintext: a TLS client cannot complete its handshake there.
    let plain = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let tls = plain.replacen("redis://", "rediss://", 1);
    let mut conn =
        queue::connect(&RedisConfig::for_url(&tls)).expect("rediss:// is a supported scheme");
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        redis::cmd("PING").query_async::<String>(&mut conn),
    )
    .await
    .expect("the attempt ends")
    .unwrap_err();
    assert_ne!(err.kind(), redis::ErrorKind::InvalidClientConfig, "{err}");
    let text = err.to_string();
    assert!(
        !text.contains("not enabled") && !text.contains("not a redis URL"),
        "{text}"
    );

    // A TLS server that is not there at all: a connection error, not a configuration one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut conn =
        queue::connect(&RedisConfig::for_url(&format!("rediss://127.0.0.1:{port}"))).unwrap();
    let err = redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .unwrap_err();
    assert_ne!(err.kind(), redis::ErrorKind::InvalidClientConfig, "{err}");
}
