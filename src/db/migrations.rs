//! The migrations in `migrations/`, embedded in the binary.

use anyhow::{Context, anyhow};
use diesel::pg::PgConnection;
use diesel::{RunQueryDsl, sql_query};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Arbitrary constant key of the advisory lock that serialises concurrent `migrate` runs
/// (two deploys at once would otherwise race; diesel takes no lock of its own).
const MIGRATION_LOCK_KEY: i64 = 0x0063_616c_7379_6e63; // "calsync" in ASCII

/// Names of the migrations not yet applied, oldest first.
pub fn pending(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    let pending = conn
        .pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow!(e))
        .context("listing pending migrations")?;
    Ok(pending.iter().map(|m| m.name().to_string()).collect())
}

/// Applies every pending migration under an advisory lock; returns the names applied.
pub fn apply_pending(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .execute(conn)
        .context("taking the migration lock")?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.iter().map(ToString::to_string).collect())
        .map_err(|e| anyhow!(e))
        .context("applying migrations");
    let unlocked = sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
        .execute(conn)
        .context("releasing the migration lock");
    let applied = result?;
    unlocked?;
    Ok(applied)
}

/// Fails when migrations are pending; `serve` and `worker` call this before starting so a
/// forgotten deploy step fails loudly instead of running code against an old schema.
pub fn ensure_current(conn: &mut PgConnection) -> anyhow::Result<()> {
    let pending = pending(conn)?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(
            "{} migration(s) pending ({}); run `calsync migrate` first",
            pending.len(),
            pending.join(", ")
        ))
    }
}
