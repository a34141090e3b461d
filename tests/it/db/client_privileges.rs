//! What a tracker user's database role can do to calsync's tables, on a database set up as
//! Supabase sets one up: the `anon`, `authenticated` and `service_role` roles, and default
//! privileges that grant ALL on every new table, sequence and function to them. Each attack
//! below was possible before calsync revoked those grants.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Bool, Text};

use crate::helpers::builders::{insert_case, insert_user};
use crate::helpers::test_db::TestDb;
use calsync::db::migrations;
use calsync::ids::UserId;

/// The tables of the tracker itself, which calsync neither owns nor locks down.
const TRACKER_TABLES: [&str; 2] = ["perm_users", "cases"];
/// What a signed-in client may read (its own rows, by row level security); nothing else.
const CLIENT_READABLE: [&str; 3] = [
    "calendar_sync_channels",
    "case_event_links",
    "calendar_sync_audit",
];

/// A database with Supabase's client roles and default privileges, then calsync's migrations.
fn supabase_like() -> TestDb {
    let db = TestDb::empty();
    let mut conn = db.conn();
    conn.batch_execute(
        "DO $$
         DECLARE r text;
         BEGIN
             FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
                 IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
                     BEGIN
                         EXECUTE format('CREATE ROLE %I NOLOGIN', r);
                     EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                     END;
                 END IF;
             END LOOP;
         END $$;
         GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
             GRANT ALL ON TABLES TO anon, authenticated, service_role;
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
             GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
             GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;",
    )
    .expect("Supabase-like roles and default privileges");
    migrations::apply_pending(&mut conn).expect("migrations apply on a Supabase-like database");
    db
}

#[derive(QueryableByName, Debug)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
}

fn calsync_tables(conn: &mut PgConnection) -> Vec<String> {
    let tables: Vec<Named> = sql_query(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .load(conn)
    .unwrap();
    tables
        .into_iter()
        .map(|t| t.name)
        .filter(|t| !TRACKER_TABLES.contains(&t.as_str()))
        .collect()
}

#[derive(QueryableByName)]
struct Granted {
    #[diesel(sql_type = Bool)]
    granted: bool,
}

fn check(conn: &mut PgConnection, query: &str) -> bool {
    sql_query(query)
        .get_result::<Granted>(conn)
        .unwrap()
        .granted
}

#[test]
fn client_roles_hold_no_privilege_on_calsync_objects_but_reading_their_own_rows() {
    let db = supabase_like();
    let mut conn = db.conn();
    let tables = calsync_tables(&mut conn);
    assert!(
        tables.contains(&"__diesel_schema_migrations".to_owned()),
        "{tables:?}"
    );
    assert!(tables.len() >= 7, "{tables:?}");
    for role in ["anon", "authenticated"] {
        for table in &tables {
            for privilege in [
                "INSERT",
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
            ] {
                assert!(
                    !check(
                        &mut conn,
                        &format!(
                            "SELECT has_table_privilege('{role}', 'public.{table}', '{privilege}') AS granted"
                        )
                    ),
                    "{role} holds {privilege} on {table}"
                );
            }
            let reads = check(
                &mut conn,
                &format!(
                    "SELECT has_table_privilege('{role}', 'public.{table}', 'SELECT') AS granted"
                ),
            );
            let allowed = role == "authenticated" && CLIENT_READABLE.contains(&table.as_str());
            assert_eq!(reads, allowed, "{role} SELECT on {table}");
        }
        let functions: Vec<Named> = sql_query(
            "SELECT p.oid::regprocedure::text AS name FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proname LIKE 'calsync\\_%'",
        )
        .load(&mut conn)
        .unwrap();
        assert!(functions.len() >= 3, "{functions:?}");
        for f in &functions {
            assert!(
                !check(
                    &mut conn,
                    &format!(
                        "SELECT has_function_privilege('{role}', '{}', 'EXECUTE') AS granted",
                        f.name
                    )
                ),
                "{role} may execute {}",
                f.name
            );
        }
        let sequences: Vec<Named> = sql_query(
            "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind = 'S' AND c.relname LIKE 'calendar\\_%'",
        )
        .load(&mut conn)
        .unwrap();
        for s in &sequences {
            assert!(
                !check(
                    &mut conn,
                    &format!(
                        "SELECT has_sequence_privilege('{role}', 'public.{}', 'USAGE') AS granted",
                        s.name
                    )
                ),
                "{role} may use {}",
                s.name
            );
        }
    }
}

fn as_role(conn: &mut PgConnection, role: &str, user: Option<UserId>) {
    let sub = user.map_or_else(String::new, |u| u.to_string());
    conn.batch_execute(&format!(
        "SET ROLE {role}; SELECT set_config('request.jwt.claims', '{{\"sub\":\"{sub}\",\"role\":\"{role}\"}}', false)"
    ))
    .unwrap();
}

fn refused(conn: &mut PgConnection, statement: &str) -> String {
    let err = sql_query(statement)
        .execute(conn)
        .expect_err(&format!("{statement} must be refused"));
    let text = err.to_string();
    assert!(text.contains("permission denied"), "{statement}: {text}");
    text
}

#[test]
fn a_tracker_user_can_neither_empty_the_migrations_table_nor_truncate_calsync_tables() {
    let db = supabase_like();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    for role in ["authenticated", "anon"] {
        as_role(&mut conn, role, Some(user));
        refused(&mut conn, "DELETE FROM __diesel_schema_migrations");
        for table in [
            "calendar_outbox",
            "calendar_sync_channels",
            "case_event_links",
            "case_deadline_revisions",
            "calendar_sync_audit",
            "google_credentials",
        ] {
            refused(&mut conn, &format!("TRUNCATE {table}"));
        }
        refused(&mut conn, "SELECT * FROM google_credentials");
        conn.batch_execute("RESET ROLE").unwrap();
    }
    // calsync still starts: nothing was removed.
    migrations::ensure_current(&mut conn).expect("migrations still recorded");
}

#[test]
fn a_tracker_user_cannot_write_channel_or_link_rows_even_their_own() {
    let db = supabase_like();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    as_role(&mut conn, "authenticated", Some(user));
    refused(
        &mut conn,
        &format!(
            "INSERT INTO calendar_sync_channels (user_id, calendar_id, channel_id, resource_id, expiration_timestamp)
             VALUES ('{user}', 'primary', 'forged-channel', 'r', 1)"
        ),
    );
    refused(
        &mut conn,
        "UPDATE calendar_sync_channels SET status = 'stopped'",
    );
    refused(&mut conn, "DELETE FROM calendar_sync_channels");
    refused(&mut conn, "UPDATE case_event_links SET dismissed = true");
    refused(&mut conn, "DELETE FROM case_event_links");
}

#[test]
fn a_tracker_user_cannot_attach_calsyncs_trigger_functions_to_a_table_of_their_own() {
    let db = supabase_like();
    let mut conn = db.conn();
    let (a, b) = (insert_user(&mut conn), insert_user(&mut conn));
    let b_case = insert_case(&mut conn, b);
    let before = outbox_rows(&mut conn);
    as_role(&mut conn, "authenticated", Some(a));
    conn.batch_execute("CREATE TEMP TABLE bait (id uuid, user_id uuid, rfe_due_date date)")
        .unwrap();
    for function in [
        "calsync_enqueue_case_push",
        "calsync_record_deadline_revisions",
    ] {
        refused(
            &mut conn,
            &format!(
                "CREATE TRIGGER bait_{function} AFTER INSERT ON bait
                 FOR EACH ROW EXECUTE FUNCTION public.{function}()"
            ),
        );
    }
    sql_query(format!(
        "INSERT INTO bait VALUES ('{b_case}', '{b}', '2027-01-01')"
    ))
    .execute(&mut conn)
    .unwrap();
    conn.batch_execute("RESET ROLE").unwrap();
    assert_eq!(
        outbox_rows(&mut conn),
        before,
        "no outbox row was forged for B"
    );
}

#[test]
fn the_trigger_functions_refuse_any_table_but_cases_whoever_attaches_them() {
    // Even the owner (who may execute them) cannot make them act for another table.
    let db = TestDb::new();
    let mut conn = db.conn();
    let b = insert_user(&mut conn);
    let b_case = insert_case(&mut conn, b);
    conn.batch_execute(
        "CREATE TABLE bait (id uuid, user_id uuid, rfe_due_date date);
         CREATE TRIGGER bait_push AFTER INSERT ON bait
             FOR EACH ROW EXECUTE FUNCTION public.calsync_enqueue_case_push();
         CREATE TABLE bait2 (id uuid, user_id uuid, rfe_due_date date);
         CREATE TRIGGER bait_revisions AFTER INSERT ON bait2
             FOR EACH ROW EXECUTE FUNCTION public.calsync_record_deadline_revisions();",
    )
    .unwrap();
    let before = outbox_rows(&mut conn);
    for table in ["bait", "bait2"] {
        let err = sql_query(format!(
            "INSERT INTO {table} VALUES ('{b_case}', '{b}', '2027-01-01')"
        ))
        .execute(&mut conn)
        .unwrap_err();
        assert!(
            err.to_string().contains("runs only for public.cases"),
            "{err}"
        );
    }
    assert_eq!(outbox_rows(&mut conn), before);
}

#[test]
fn a_temporary_table_does_not_shadow_calsyncs_outbox_or_revisions() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let case = insert_case(&mut conn, user);
    conn.batch_execute(
        "CREATE TEMP TABLE calendar_outbox (LIKE public.calendar_outbox INCLUDING DEFAULTS);
         CREATE TEMP TABLE case_deadline_revisions
             (LIKE public.case_deadline_revisions INCLUDING ALL);",
    )
    .unwrap();
    let before = outbox_rows(&mut conn);
    sql_query(format!(
        "UPDATE public.cases SET rfe_due_date = '2027-02-01' WHERE id = '{case}'"
    ))
    .execute(&mut conn)
    .unwrap();
    assert_eq!(
        outbox_rows(&mut conn),
        before + 1,
        "the real outbox got the push"
    );
    let revisions = sql_query(format!(
        "SELECT count(*) > 0 AS granted FROM public.case_deadline_revisions
         WHERE case_id = '{case}' AND deadline_kind = 'rfe_due_date'"
    ))
    .get_result::<Granted>(&mut conn)
    .unwrap();
    assert!(
        revisions.granted,
        "the real revisions table recorded the change"
    );
    let shadow = sql_query(
        "SELECT (SELECT count(*) FROM pg_temp.calendar_outbox)
              + (SELECT count(*) FROM pg_temp.case_deadline_revisions) = 0 AS granted",
    )
    .get_result::<Granted>(&mut conn)
    .unwrap();
    assert!(shadow.granted, "nothing went into the temporary tables");
}

fn outbox_rows(conn: &mut PgConnection) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    sql_query("SELECT count(*) AS n FROM public.calendar_outbox")
        .get_result::<Count>(conn)
        .unwrap()
        .n
}
