//! `calsync serve` itself, configured from the environment as in production: with
//! `JWT_SECRET` set it answers the user API; a missing connect setting stops it at start,
//! naming the variable.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::StatusCode;

use super::support::JWT_SECRET;
use crate::helpers::builders::insert_user;
use crate::helpers::process::{CHILD_KEY_B64, ChildProcess};
use crate::helpers::test_app::SECRET;
use crate::helpers::test_db::TestDb;
use crate::helpers::test_redis::TestRedis;

fn serve(db: &TestDb, redis: &TestRedis, with_return_url: bool) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calsync"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.url())
        .env("REDIS_URL", redis.url())
        .env("QUEUE_NAMESPACE", redis.namespace())
        .env("CHANNEL_TOKEN_SECRET", SECRET)
        .env("JWT_SECRET", JWT_SECRET)
        .env("GOOGLE_CLIENT_ID", "client.apps.googleusercontent.com")
        .env("GOOGLE_CLIENT_SECRET", "client-secret")
        .env("TOKEN_ENCRYPTION_KEY", CHILD_KEY_B64)
        .env("WEBHOOK_PUBLIC_URL", "https://calsync.example.com")
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("ADMIN_BIND_ADDR", "127.0.0.1:0")
        .env("HTTP_WORKERS", "1")
        .env("RUST_LOG", "info")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if with_return_url {
        command.env("OAUTH_RETURN_URL", "https://tracker.example.com/settings");
    }
    command
}

#[tokio::test]
async fn serve_answers_the_user_api_when_jwt_secret_is_set() {
    let db = TestDb::new();
    let redis = TestRedis::new();
    let user = insert_user(&mut db.conn());
    let mut child = ChildProcess::spawn(&mut serve(&db, &redis, true), "calsync serve");
    let stderr = child.take_stderr();
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let addr: SocketAddr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("serve starts");
        if let Some(rest) = line.split("serving on http://").nth(1) {
            break rest.split(',').next().unwrap().parse().unwrap();
        }
    };
    let exp = chrono::Utc::now().timestamp() + 600;
    let token =
        calsync::http::auth::sign(JWT_SECRET, &serde_json::json!({"sub": user, "exp": exp}));
    let http = reqwest::Client::new();
    let res = http
        .get(format!("http://{addr}/api/google-calendar/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["state"], "not_connected");
    let res = http
        .post(format!("http://{addr}/api/google-calendar/connect"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    // The link is calsync's own public address (PUBLIC_BASE_URL defaults to the webhook's).
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://calsync.example.com/oauth/google/start?link="),
        "{url}"
    );
    let res = http
        .get(format!("http://{addr}/api/google-calendar/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    child.signal(Signal::SIGTERM);
    child.wait_exit(Duration::from_secs(20)).await;
}

#[tokio::test]
async fn serve_refuses_to_start_without_the_return_url() {
    let db = TestDb::new();
    let redis = TestRedis::new();
    let output = serve(&db, &redis, false).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("OAUTH_RETURN_URL"), "{stderr}");
}
