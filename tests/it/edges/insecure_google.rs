//! A stray development `.env` in a production working directory points the Google URLs at
//! an emulator over plain http: calsync refuses to start instead of sending users' tokens
//! there.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::process::{CHILD_KEY_B64, ChildProcess};
use crate::helpers::test_db::TestDb;

/// A `.env` as `scripts/dev` writes it, minus the opt-in.
const STRAY_DEV_ENV: &str = "\
GOOGLE_API_BASE_URL=http://127.0.0.1:9/calendar/v3
GOOGLE_OAUTH_TOKEN_URL=http://127.0.0.1:9/token
GOOGLE_OAUTH_AUTH_URL=http://127.0.0.1:9/o/oauth2/v2/auth
";

/// Runs calsync in `dir` with a production environment (no opt-in); its exit code and
/// standard error. A calsync that does not refuse (and so keeps running) fails the test.
async fn run_in(dir: &std::path::Path, db: &TestDb, args: &[&str]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calsync"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.url())
        .env("REDIS_URL", "redis://127.0.0.1:9")
        .env("GOOGLE_CLIENT_ID", "prod-client")
        .env("GOOGLE_CLIENT_SECRET", "prod-secret")
        .env("TOKEN_ENCRYPTION_KEY", CHILD_KEY_B64)
        .env(
            "CHANNEL_TOKEN_SECRET",
            "test-channel-token-secret-0123456789abcdef",
        )
        .env("WEBHOOK_PUBLIC_URL", "https://calsync.example.test")
        .env("RUST_LOG", "info")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = ChildProcess::spawn(&mut command, "calsync");
    let mut stderr = child.take_stderr();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = child.wait_exit(Duration::from_secs(30)).await;
    (status.code(), reader.join().unwrap())
}

#[tokio::test]
async fn a_stray_dev_env_cannot_point_production_at_plain_http() {
    let db = TestDb::new();
    let dir = std::env::temp_dir().join(format!("calsync-stray-env-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env"), STRAY_DEV_ENV).unwrap();

    for args in [
        &["worker"][..],
        &["channels", "stop", "--channel", "c-1"][..],
    ] {
        let (code, stderr) = run_in(&dir, &db, args).await;
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("GOOGLE_API_BASE_URL") && stderr.contains("https://"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("read settings from"),
            "the .env is named: {stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
