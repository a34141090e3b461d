//! A fresh PostgreSQL database per test, migrated with the embedded migrations and dropped
//! (WITH FORCE) when the test ends, pass or fail.

use calsync::config::DatabaseConfig;
use calsync::db::{Db, migrations};
use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl, sql_query};

/// The server tests create their databases on. `TEST_DATABASE_URL` overrides the local default.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server_url, None),
    };
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// A new, fully migrated database.
    pub fn new() -> Self {
        let db = Self::empty();
        let mut conn = db.conn();
        migrations::apply_pending(&mut conn).expect("migrations apply");
        db
    }

    /// A new database with no migrations applied.
    pub fn empty() -> Self {
        let name = format!("calsync_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&server_url())
            .expect("TEST_DATABASE_URL (or local PostgreSQL) must be reachable");
        sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let url = with_database(&server_url(), &name);
        Self { name, url }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new connection (as the owning superuser).
    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to test database")
    }

    /// A pool wrapper as the roles use it.
    pub fn db(&self) -> Db {
        Db::new(&DatabaseConfig::for_url(&self.url))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&server_url()) {
            let _ = sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}
