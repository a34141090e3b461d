//! Forged notifications (a wrong channel token) are all rejected and counted, but logged at
//! most a few times a minute: an outsider cannot flood `serve`'s logs.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::helpers::process::ChildProcess;
use crate::helpers::test_app::SECRET;
use crate::helpers::test_db::TestDb;
use crate::helpers::test_redis::TestRedis;
use crate::webhook::server::raw;

const FORGED: usize = 300;

#[tokio::test]
async fn a_flood_of_forged_notifications_is_logged_a_few_times() {
    let db = TestDb::new();
    let redis = TestRedis::new();
    let mut command = Command::new(env!("CARGO_BIN_EXE_calsync"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.url())
        .env("REDIS_URL", redis.url())
        .env("QUEUE_NAMESPACE", redis.namespace())
        .env("CHANNEL_TOKEN_SECRET", SECRET)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("ADMIN_BIND_ADDR", "127.0.0.1:0")
        .env("HTTP_WORKERS", "1")
        .env("RUST_LOG", "warn,calsync=info")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut serve = ChildProcess::spawn(&mut command, "calsync serve");
    let stderr = serve.take_stderr();
    let (lines_tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
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

    for n in 0..FORGED {
        let request = format!(
            "POST /api/webhooks/google-calendar HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             X-Goog-Channel-ID: forged-{n}\r\nX-Goog-Channel-Token: not-the-token\r\n\
             X-Goog-Resource-State: exists\r\nX-Goog-Message-Number: 1\r\n\
             X-Goog-Resource-ID: r\r\nContent-Length: 0\r\n\r\n"
        );
        let res = raw(addr, &request).await;
        assert!(res.starts_with("HTTP/1.1 401"), "{res}");
    }
    serve.signal(Signal::SIGTERM);
    serve.wait_exit(Duration::from_secs(20)).await;
    let logged: Vec<String> = lines
        .try_iter()
        .filter(|l| l.contains("wrong channel token"))
        .collect();
    assert!(!logged.is_empty(), "the first forgeries are logged");
    assert!(
        logged.len() <= 10,
        "{} of {FORGED} forgeries logged:\n{}",
        logged.len(),
        logged.join("\n")
    );
    assert!(redis.waiting_calendar_changes().await.is_empty());
}
