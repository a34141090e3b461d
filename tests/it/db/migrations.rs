//! The migrations apply, revert and re-apply cleanly, and respect a tracker schema that
//! already exists (as on Supabase).

use std::process::Command;

use calsync::db::migrations::{self, MIGRATIONS};
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::MigrationHarness;

use crate::helpers::test_db::TestDb;

pub fn migration_count() -> usize {
    MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .unwrap()
        .len()
}

/// The schema as pg_dump prints it (objects, constraints, indexes, policies, grants).
fn schema_dump(db: &TestDb) -> String {
    let out = Command::new("pg_dump")
        .args(["--schema-only", "--no-owner", "--dbname", db.url()])
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Drop the header comments that carry pg_dump's own version.
    String::from_utf8(out.stdout)
        .expect("utf-8 dump")
        .lines()
        // pg_dump's own version and its per-run \restrict keys differ between runs.
        .filter(|l| {
            !l.starts_with("-- Dumped")
                && !l.starts_with("\\restrict")
                && !l.starts_with("\\unrestrict")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn up_down_up_leaves_the_same_schema_and_down_removes_everything() {
    let db = TestDb::empty();
    let empty = schema_dump(&db);
    let mut conn = db.conn();

    let applied = migrations::apply_pending(&mut conn).unwrap();
    assert_eq!(applied.len(), migration_count());
    assert!(migrations::pending(&mut conn).unwrap().is_empty());
    let first = schema_dump(&db);
    assert!(first.contains("CREATE TABLE public.calendar_sync_channels"));

    conn.revert_all_migrations(MIGRATIONS).unwrap();
    assert_eq!(
        migrations::pending(&mut conn).unwrap().len(),
        migration_count()
    );
    // Apart from diesel's bookkeeping table the database is as it was before.
    conn.batch_execute("DROP TABLE __diesel_schema_migrations")
        .unwrap();
    assert_eq!(schema_dump(&db), empty);

    migrations::apply_pending(&mut conn).unwrap();
    assert_eq!(schema_dump(&db), first);
}

#[test]
fn each_down_reverts_exactly_its_up() {
    // Apply one migration at a time, remembering the schema after each; then revert one at a
    // time and expect the schema of the step before. A down.sql that leaves anything behind
    // (or removes too much) shows up at its own step, not hidden by a later full revert.
    let db = TestDb::empty();
    let mut conn = db.conn();
    let mut dumps = vec![schema_dump(&db)];
    while !migrations::pending(&mut conn).unwrap().is_empty() {
        conn.run_next_migration(MIGRATIONS).unwrap();
        dumps.push(schema_dump(&db));
    }
    assert_eq!(dumps.len(), migration_count() + 1);
    dumps.pop();
    while let Some(expected) = dumps.pop() {
        let name = conn.revert_last_migration(MIGRATIONS).unwrap().to_string();
        let mut actual = schema_dump(&db);
        if dumps.is_empty() {
            conn.batch_execute("DROP TABLE __diesel_schema_migrations")
                .unwrap();
            actual = schema_dump(&db);
        }
        assert!(
            actual == expected,
            "reverting {name} did not restore the schema before it"
        );
    }
}

#[test]
fn ensure_current_refuses_pending_migrations() {
    let db = TestDb::empty();
    let mut conn = db.conn();
    let err = migrations::ensure_current(&mut conn)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("{} migration(s) pending", migration_count())),
        "{err}"
    );
    migrations::apply_pending(&mut conn).unwrap();
    migrations::ensure_current(&mut conn).unwrap();
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[test]
fn existing_tracker_schema_is_kept_and_never_dropped() {
    let db = TestDb::empty();
    let mut conn = db.conn();
    // The tracker's own schema, as a Supabase project has it: extra columns, its own
    // auth.uid(), some deadline columns already present, and data.
    conn.batch_execute(
        "CREATE SCHEMA auth;
         CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
           $$ SELECT (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid $$;
         CREATE TABLE perm_users (id uuid PRIMARY KEY, email text UNIQUE NOT NULL,
           created_at timestamptz NOT NULL DEFAULT now(), full_name text);
         CREATE TABLE cases (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
           user_id uuid NOT NULL REFERENCES perm_users(id) ON DELETE CASCADE,
           employer_name text NOT NULL, beneficiary_name text NOT NULL,
           status text NOT NULL DEFAULT 'open', closed_at timestamptz, deleted_at timestamptz,
           created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
           pwd_expiration_date date, notes text);
         INSERT INTO perm_users (id, email) VALUES ('00000000-0000-0000-0000-00000000000a', 'a@x');
         INSERT INTO cases (user_id, employer_name, beneficiary_name, pwd_expiration_date)
           VALUES ('00000000-0000-0000-0000-00000000000a', 'E', 'B', '2027-01-31');",
    )
    .unwrap();

    migrations::apply_pending(&mut conn).unwrap();
    let names: Vec<String> = sql_query(
        "SELECT column_name AS name FROM information_schema.columns
         WHERE table_name = 'cases' ORDER BY column_name",
    )
    .load::<Name>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect();
    for col in [
        "notes",
        "rfe_due_date",
        "filing_window_closes",
        "calendar_last_synced_at",
    ] {
        assert!(
            names.iter().any(|n| n == col),
            "cases lacks {col}: {names:?}"
        );
    }

    conn.revert_all_migrations(MIGRATIONS).unwrap();
    let cases: Count =
        sql_query("SELECT count(*) AS n FROM cases WHERE pwd_expiration_date = '2027-01-31'")
            .get_result(&mut conn)
            .unwrap();
    assert_eq!(cases.n, 1, "the tracker's data survives a full revert");
    let uid: Count = sql_query("SELECT count(*) AS n FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace WHERE s.nspname = 'auth' AND p.proname = 'uid'")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(uid.n, 1, "the tracker's auth.uid() survives a full revert");
}
