//! Operator commands as an operator runs them: the real binary, real database.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use base64::Engine;
use calsync::crypto::{EncryptionKey, TokenCipher};
use calsync::db::models::NewCalendarChannel;
use calsync::db::models::calendar_channel;
use calsync::db::models::google_credential;

use crate::helpers::builders::insert_user;
use crate::helpers::test_db::TestDb;

fn calsync(db: &TestDb, key: &EncryptionKey, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_calsync"))
        .args(args)
        .env("DATABASE_URL", db.url())
        .env(
            "TOKEN_ENCRYPTION_KEY",
            base64::engine::general_purpose::STANDARD.encode(key.as_bytes()),
        )
        .env("RUST_LOG", "debug")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn credentials_set_seals_the_token_from_stdin_and_never_prints_it() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let key = EncryptionKey::random();
    let secret = "1//0gOperatorPastedRefreshToken";

    let out = calsync(
        &db,
        &key,
        &["credentials", "set", "--user", &user.to_string()],
        &format!("{secret}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("stored Google credentials"));
    assert!(
        !printed.contains("OperatorPasted"),
        "the token must not be printed or logged"
    );

    let row = google_credential::find(&mut conn, user).unwrap().unwrap();
    let cipher = TokenCipher::new(1, key, Default::default());
    assert_eq!(row.refresh_token(&cipher).unwrap(), secret);
}

#[test]
fn credentials_set_refuses_unknown_users_and_bad_input() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let key = EncryptionKey::random();
    let stranger = uuid::Uuid::new_v4().to_string();
    let out = calsync(
        &db,
        &key,
        &["credentials", "set", "--user", &stranger],
        "1//x\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user"));

    let user = insert_user(&mut conn).to_string();
    for bad in ["", "two tokens\n"] {
        let out = calsync(&db, &key, &["credentials", "set", "--user", &user], bad);
        assert_eq!(out.status.code(), Some(1), "input {bad:?}");
    }
    assert!(
        google_credential::find(&mut conn, user.parse().unwrap())
            .unwrap()
            .is_none()
    );
}

#[test]
fn channels_list_prints_a_readable_table() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let key = EncryptionKey::random();
    let empty = calsync(&db, &key, &["channels", "list"], "");
    assert!(String::from_utf8_lossy(&empty.stdout).contains("(no channels)"));

    let user = insert_user(&mut conn);
    calendar_channel::upsert(
        &mut conn,
        &NewCalendarChannel {
            user_id: user,
            calendar_id: "primary",
            channel_id: "4f6c2d3e-channel",
            resource_id: "r",
            resource_uri: None,
            sync_token: None,
            expiration_timestamp: 1_798_761_600_000, // 2027-01-01T00:00:00Z
        },
    )
    .unwrap();
    let out = calsync(&db, &key, &["channels", "list"], "");
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("USER") && lines[0].contains("LAST NOTIFICATION"),
        "{table}"
    );
    let row = lines[1];
    for cell in [
        user.to_string().as_str(),
        "primary",
        "4f6c2d3e-channel",
        "2027-01-01 00:00:00Z",
        "active",
    ] {
        assert!(row.contains(cell), "{cell} missing from {row}");
    }
}

#[test]
fn reconnecting_a_parked_user_says_how_to_resume_their_channels() {
    use calsync::db::models::calendar_channel::ChannelStatus;
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    calendar_channel::upsert(
        &mut conn,
        &NewCalendarChannel {
            user_id: user,
            calendar_id: "primary",
            channel_id: "parked-channel",
            resource_id: "r",
            resource_uri: None,
            sync_token: Some("t"),
            expiration_timestamp: 1,
        },
    )
    .unwrap();
    calendar_channel::mark_user_needs_reauth(&mut conn, user).unwrap();
    let out = calsync(
        &db,
        &EncryptionKey::random(),
        &["credentials", "set", "--user", &user.to_string()],
        "1//new\n",
    );
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("parked-channel") && printed.contains("channels watch"),
        "{printed}"
    );
    let row = calendar_channel::find_by_channel_id(&mut conn, "parked-channel")
        .unwrap()
        .unwrap();
    assert_eq!(
        row.status,
        ChannelStatus::NeedsReauth,
        "a new watch, not the token alone, resumes it"
    );
}
