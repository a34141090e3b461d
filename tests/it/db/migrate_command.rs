//! `calsync migrate` and `calsync migrate --check` as an operator runs them.

use std::process::{Command, Output};

use crate::helpers::test_db::TestDb;

fn calsync(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calsync"))
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "info")
        .current_dir(std::env::temp_dir()) // no .env from the repository
        .output()
        .expect("calsync runs")
}

#[test]
fn check_lists_pending_and_fails_until_migrate_applies_them() {
    let db = TestDb::empty();

    let check = calsync(&db, &["migrate", "--check"]);
    assert_eq!(check.status.code(), Some(1));
    let listed = String::from_utf8_lossy(&check.stdout);
    assert_eq!(
        listed
            .lines()
            .filter(|l| l.starts_with("pending: "))
            .count(),
        super::migrations::migration_count(),
        "{listed}"
    );
    assert!(listed.contains("create_calendar_sync_channels"));

    let migrate = calsync(&db, &["migrate"]);
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(String::from_utf8_lossy(&migrate.stderr).contains("applied migration"));

    let again = calsync(&db, &["migrate", "--check"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stdout).contains("no pending migrations"));
}

#[test]
fn missing_database_url_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_calsync"))
        .args(["migrate"])
        .env_remove("DATABASE_URL")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL is required"));
}
