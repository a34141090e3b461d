//! Scratch resources of the benchmarks: a PostgreSQL database and a Redis namespace of their
//! own, removed when the benchmark ends, however it ends. Shared by several benchmark
//! binaries, each of which uses a part.
#![allow(dead_code)]

use anyhow::Context;
use calsync::db::migrations;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_query;
use uuid::Uuid;

/// A database of the benchmark's own, dropped (WITH FORCE) at the end, however it ends.
pub struct TempDb {
    admin_url: String,
    name: String,
    pub url: String,
}

impl TempDb {
    pub fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("calsync_bench_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(admin_url).context("connecting to PostgreSQL")?;
        sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
        let prefix = admin_url.rsplit_once('/').map_or(admin_url, |(p, _)| p);
        let db = Self {
            admin_url: admin_url.to_owned(),
            url: format!("{prefix}/{name}"),
            name,
        };
        migrations::apply_pending(&mut db.conn()?).context("migrating")?;
        Ok(db)
    }

    pub fn conn(&self) -> anyhow::Result<PgConnection> {
        Ok(PgConnection::establish(&self.url)?)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// The benchmark's Redis namespace, deleted key by key at the end.
pub struct Namespace {
    pub url: String,
    pub name: String,
}

impl Namespace {
    pub fn conn(&self) -> anyhow::Result<redis::Connection> {
        Ok(redis::Client::open(self.url.as_str())?.get_connection()?)
    }

    /// The namespace's keys, by SCAN (never KEYS: the server may be shared).
    pub fn keys(&self) -> Vec<String> {
        let Ok(mut conn) = self.conn() else {
            return Vec::new();
        };
        redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(format!("{}:*", self.name))
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter::<String>(&mut conn)
            .map(|keys| keys.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }

    /// Keys and bytes (`MEMORY USAGE`) the namespace holds.
    pub fn memory(&self) -> anyhow::Result<(usize, u64)> {
        let keys = self.keys();
        let mut conn = self.conn()?;
        let mut bytes = 0u64;
        for key in &keys {
            let n: Option<u64> = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(key)
                .query(&mut conn)?;
            bytes += n.unwrap_or(0);
        }
        Ok((keys.len(), bytes))
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let keys = self.keys();
        if let Ok(mut conn) = self.conn() {
            for chunk in keys.chunks(500) {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(chunk).query(&mut conn);
            }
        }
    }
}
