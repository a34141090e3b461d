//! `calsync channels watch` and `channels stop` as an operator runs them, against the
//! emulator; and the worker's renewal of expiring channels.

use std::time::Duration;

use base64::Engine;
use calsync::channel_token;
use calsync::channels::renew_expiring;
use calsync::channels::{WatchTarget, watch_calendar};
use calsync::config::SyncSettings;
use calsync::db::models::calendar_channel as channels;
use calsync::db::models::case_event_link as links;
use calsync::domain::DeadlineKind;
use gcal_emulator::EmulatorConfig;
use tokio::process::Command;

use crate::helpers::calendar_fixtures::linked_deadline;
use crate::helpers::google::GoogleWorld;
use crate::helpers::test_app::SECRET;

const PUBLIC_URL: &str = "https://calsync.example.test";

async fn calsync(w: &GoogleWorld, args: &[&str]) -> std::process::Output {
    let config = EmulatorConfig::default();
    Command::new(env!("CARGO_BIN_EXE_calsync"))
        .args(args)
        .env("DATABASE_URL", w.db.url())
        .env("CALSYNC_ALLOW_INSECURE_GOOGLE", "1")
        .env("GOOGLE_API_BASE_URL", &w.emu.urls().api_base)
        .env("GOOGLE_OAUTH_TOKEN_URL", &w.emu.urls().token_url)
        .env("GOOGLE_CLIENT_ID", &config.client_id)
        .env("GOOGLE_CLIENT_SECRET", &config.client_secret)
        .env(
            "TOKEN_ENCRYPTION_KEY",
            base64::engine::general_purpose::STANDARD.encode(w.key.as_bytes()),
        )
        .env("CHANNEL_TOKEN_SECRET", SECRET)
        .env("WEBHOOK_PUBLIC_URL", PUBLIC_URL)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn watch_creates_the_channel_at_google_and_in_the_table_then_stop_removes_both() {
    let w = GoogleWorld::start().await;
    let deadline = linked_deadline(
        &w,
        DeadlineKind::RfeDue,
        chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
    );
    let out = calsync(
        &w,
        &[
            "channels",
            "watch",
            "--user",
            &w.user_id.to_string(),
            "--calendar",
            w.calendar(),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("first sync"));

    let row = channels::find_for_calendar(&mut w.db.conn(), w.user_id, w.calendar())
        .unwrap()
        .unwrap();
    assert!(row.sync_token.is_some(), "the first sync stored a token");
    let at_google = w.emu.channels();
    assert_eq!(at_google.len(), 1);
    let ch = &at_google[0];
    assert_eq!(ch.id, row.channel_id);
    assert_eq!(
        ch.address,
        format!("{PUBLIC_URL}/api/webhooks/google-calendar")
    );
    assert_eq!(
        ch.token.as_deref(),
        Some(channel_token::derive(&SECRET.to_owned().into(), &ch.id).as_str())
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        !printed.contains(ch.token.as_deref().unwrap()),
        "the channel token is never printed"
    );

    let out = calsync(&w, &["channels", "stop", "--channel", &row.channel_id]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        channels::find_by_channel_id(&mut w.db.conn(), &row.channel_id)
            .unwrap()
            .is_none()
    );
    // Events nothing keeps in sync any more are taken off the calendar: the stop queued the
    // case, and the worker's next push removes them.
    calsync::outbound::push_user(&w.push_context(), w.user_id)
        .await
        .unwrap();
    assert_eq!(
        w.emu.event(w.calendar(), &deadline.event_id).unwrap()["status"],
        "cancelled"
    );
    let link = links::find_by_event(
        &mut w.db.conn(),
        w.user_id,
        w.calendar(),
        &deadline.event_id,
    )
    .unwrap()
    .unwrap();
    assert!(link.removed);
    assert_eq!(w.count_requests("POST", "/channels/stop"), 1);
    let again = calsync(&w, &["channels", "stop", "--channel", &row.channel_id]).await;
    assert_eq!(again.status.code(), Some(1));
}

#[tokio::test]
async fn expiring_channels_are_renewed_keeping_their_sync_position() {
    let w = GoogleWorld::start_with(EmulatorConfig::default(), SyncSettings::default()).await;
    let target = WatchTarget {
        address: format!("{PUBLIC_URL}/api/webhooks/google-calendar"),
        ttl: None,
    };
    let token_for = |id: &str| channel_token::derive(&SECRET.to_owned().into(), id);
    let (first, _) = watch_calendar(&w.ctx, w.user_id, w.calendar(), &target, token_for)
        .await
        .unwrap();

    // Nothing expires within a day yet.
    let report = renew_expiring(&w.ctx, Duration::from_secs(86_400), &target, &token_for)
        .await
        .unwrap();
    assert_eq!(report.renewed, 0);

    // Make it expire in an hour.
    let soon = chrono::Utc::now().timestamp_millis() + 3_600_000;
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE calendar_sync_channels SET expiration_timestamp = {soon}"
        )),
        &mut w.db.conn(),
    )
    .unwrap();
    let report = renew_expiring(&w.ctx, Duration::from_secs(86_400), &target, &token_for)
        .await
        .unwrap();
    assert_eq!((report.renewed, report.failed), (1, 0));

    let renewed = channels::find_for_calendar(&mut w.db.conn(), w.user_id, w.calendar())
        .unwrap()
        .unwrap();
    assert_ne!(renewed.channel_id, first.channel_id);
    assert!(renewed.expiration_timestamp > soon);
    assert_eq!(
        w.count_requests("POST", "/channels/stop"),
        1,
        "the replaced channel is stopped"
    );
    let lists: Vec<_> = w
        .emu
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/events") && r.method == "GET")
        .collect();
    let last = lists.last().unwrap();
    assert!(
        last.query.contains("syncToken"),
        "the renewal's first sync is incremental: {}",
        last.query
    );
}
