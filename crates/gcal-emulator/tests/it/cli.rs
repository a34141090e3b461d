//! `gcal-emulator` runs standalone and prints what a demo needs.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn standalone_emulator_prints_its_urls_and_serves_the_demo_user() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gcal-emulator"))
        .args([
            "--port",
            "0",
            "--user",
            "demo@example.com",
            "--refresh-token",
            "demo-refresh",
            "--redirect-uri",
            "http://localhost:4000/cb",
            "--redirect-uri",
            "http://localhost:4000/cb2",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains("refresh token:");
            printed.push(line);
            if done {
                break;
            }
        }
    })
    .await
    .expect("emulator printed its banner");
    let value_of = |label: &str| {
        printed
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_else(|| panic!("no {label} in {printed:?}"))
            .to_owned()
    };
    let api_base = value_of("API base:");
    let token_url = value_of("token URL:");
    assert!(api_base.ends_with("/calendar/v3"));
    assert!(value_of("auth URL:").ends_with("/o/oauth2/v2/auth"));
    assert!(value_of("control API:").ends_with("/_emulator"));
    assert_eq!(value_of("refresh token:"), "demo-refresh");

    let http = reqwest::Client::new();
    let token: Value = http
        .post(&token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "demo-refresh"),
            (
                "client_id",
                "calsync-test-client.apps.googleusercontent.com",
            ),
            ("client_secret", "calsync-test-secret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = http
        .get(format!("{api_base}/calendars/demo%40example.com/events"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The registered redirect URIs reach the consent page.
    assert!(
        printed
            .iter()
            .any(|l| l.contains("redirect URIs:") && l.contains("http://localhost:4000/cb2"))
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (uri, status) in [
        ("http://localhost:4000/cb2", 200),
        ("http://localhost:4000/x", 400),
    ] {
        let res = no_redirects
            .get(value_of("auth URL:"))
            .query(&[
                (
                    "client_id",
                    "calsync-test-client.apps.googleusercontent.com",
                ),
                ("redirect_uri", uri),
                ("response_type", "code"),
                ("scope", "openid email"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{uri}");
    }
    child.kill().await.unwrap();
}
