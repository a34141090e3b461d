//! A malformed `DATABASE_URL` or `REDIS_URL` is reported by the part that is wrong: the
//! password appears neither in the startup error nor in the pool's retry log.

use std::process::{Command, Output};

use crate::helpers::test_db::TestDb;

const PASSWORD: &str = "Hunter2Secret";

fn calsync(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calsync"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "debug")
        .env(
            "CHANNEL_TOKEN_SECRET",
            "test-channel-token-secret-0123456789abcdef",
        )
        .env("DATABASE_CHECKOUT_TIMEOUT_MS", "500")
        .env("ADMIN_BIND_ADDR", "127.0.0.1:0")
        .env("BIND_ADDR", "127.0.0.1:0")
        .current_dir(std::env::temp_dir());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("calsync runs")
}

fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_malformed_database_url_names_the_part_not_the_password() {
    for (url, part) in [
        (
            "postgres://calsync:Hunter2Secret@127.0.0.1:notaport/db",
            "port",
        ),
        (
            "postgres://calsync:Hunter2Secret%zz@127.0.0.1/db",
            "password",
        ),
        ("postgres://calsync:Hunter2/Secret@127.0.0.1/db", "port"),
        (
            "postgrs://calsync:Hunter2Secret@127.0.0.1/db",
            "postgres://",
        ),
        ("host=127.0.0.1 password=Hunter2Secret", "postgres://"),
        ("postgres://calsync:Hunter2Secret@[::1/db", "IPv6"),
        (
            "postgres://calsync:Hunter2Secret@127.0.0.1/db?Hunter2Secret",
            "query parameter",
        ),
    ] {
        for role in ["migrate", "serve", "worker"] {
            let out = calsync(&[role], &[("DATABASE_URL", url)]);
            let text = printed(&out);
            assert_eq!(out.status.code(), Some(1), "{role} {url}: {text}");
            assert!(
                text.contains("DATABASE_URL") && text.contains(part),
                "{role} {url}: {text}"
            );
            assert!(
                !text.contains("Hunter2"),
                "{role} leaked the password: {text}"
            );
        }
    }
}

#[test]
fn what_libpq_quotes_is_redacted_in_the_error_and_in_the_pool_log() {
    // Well-formed enough for the check, but libpq refuses the parameter and quotes its
    // value (here, the password) in its message.
    let url = format!(
        "postgres://calsync:{PASSWORD}@127.0.0.1:5432/db?connect_timeout={PASSWORD}&password={PASSWORD}"
    );
    let migrate = calsync(&["migrate"], &[("DATABASE_URL", &url)]);
    let text = printed(&migrate);
    assert_eq!(migrate.status.code(), Some(1), "{text}");
    assert!(
        text.contains("connect_timeout"),
        "the reason is kept: {text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");

    // serve checks out a pooled connection: r2d2 logs each failed attempt.
    let serve = calsync(&["serve"], &[("DATABASE_URL", &url)]);
    let text = printed(&serve);
    assert_eq!(serve.status.code(), Some(1), "{text}");
    assert!(
        text.contains("opening a PostgreSQL connection failed"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");
}

#[test]
fn a_malformed_redis_url_names_the_part_not_the_password() {
    let db = TestDb::new();
    for (url, part) in [
        ("redis://:Hunter2Secret@127.0.0.1:notaport", "port"),
        ("redis://:Hunter2Secret%ff@127.0.0.1", "password"),
        ("http://default:Hunter2Secret@127.0.0.1", "scheme"),
        (
            "redis://:Hunter2Secret@127.0.0.1/Hunter2Secret",
            "database number",
        ),
    ] {
        for role in ["serve", "worker"] {
            let out = calsync(&[role], &[("DATABASE_URL", db.url()), ("REDIS_URL", url)]);
            let text = printed(&out);
            assert_eq!(out.status.code(), Some(1), "{role} {url}: {text}");
            assert!(
                text.contains("REDIS_URL") && text.contains(part),
                "{role} {url}: {text}"
            );
            assert!(
                !text.contains("Hunter2"),
                "{role} leaked the password: {text}"
            );
        }
    }
}
