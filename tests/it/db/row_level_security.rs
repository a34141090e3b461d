//! Row level security for real: connected as the `authenticated` role with
//! `request.jwt.claims` naming a user, as Supabase's PostgREST does.

use calsync::db::models::NewCalendarChannel;
use calsync::db::models::calendar_channel::{self as channels, generate_channel_id};
use calsync::db::models::case_event_link::{self as links, NewCaseEventLink};
use calsync::db::models::google_credential as creds;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_query;
use uuid::Uuid;

use crate::helpers::builders::{insert_case, insert_user};
use crate::helpers::test_db::TestDb;
use calsync::ids::{CaseId, UserId};

fn channel<'a>(user_id: UserId, channel_id: &'a str) -> NewCalendarChannel<'a> {
    NewCalendarChannel {
        user_id,
        calendar_id: "primary",
        channel_id,
        resource_id: "r",
        resource_uri: None,
        sync_token: None,
        expiration_timestamp: 1,
    }
}

fn link<'a>(case_id: CaseId, user_id: UserId, event_id: &'a str) -> NewCaseEventLink<'a> {
    NewCaseEventLink {
        case_id,
        user_id,
        deadline_kind: "rfe_due_date",
        calendar_id: "primary",
        google_event_id: event_id,
        generation: 0,
        etag: None,
        synced_date: None,
    }
}

/// Switches the session to the `authenticated` role acting for `user`.
fn act_as(conn: &mut PgConnection, user: UserId) {
    conn.batch_execute(&format!(
        "SET ROLE authenticated; SELECT set_config('request.jwt.claims', '{{\"sub\":\"{user}\",\"role\":\"authenticated\"}}', false)"
    ))
    .unwrap();
}

struct World {
    _db: TestDb,
    conn: PgConnection,
    a: UserId,
    b: UserId,
    a_channel: String,
    b_channel: String,
    b_case: CaseId,
    a_link: Uuid,
    b_link: Uuid,
}

fn world() -> World {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (a, b) = (insert_user(&mut conn), insert_user(&mut conn));
    let (a_channel, b_channel) = (generate_channel_id(), generate_channel_id());
    channels::upsert(&mut conn, &channel(a, &a_channel)).unwrap();
    channels::upsert(&mut conn, &channel(b, &b_channel)).unwrap();
    let (a_case, b_case) = (insert_case(&mut conn, a), insert_case(&mut conn, b));
    let a_link = links::insert(&mut conn, &link(a_case, a, "aaaaa"))
        .unwrap()
        .id;
    let b_link = links::insert(&mut conn, &link(b_case, b, "bbbbb"))
        .unwrap()
        .id;
    act_as(&mut conn, a);
    World {
        _db: db,
        conn,
        a,
        b,
        a_channel,
        b_channel,
        b_case,
        a_link,
        b_link,
    }
}

#[test]
fn a_sees_and_changes_only_their_own_channels() {
    let mut w = world();
    let conn = &mut w.conn;
    let visible = channels::list_all(conn).unwrap();
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].user_id, w.a);
    assert!(
        channels::find_by_channel_id(conn, &w.b_channel)
            .unwrap()
            .is_none()
    );

    assert!(channels::update_sync_token(conn, &w.a_channel, "mine").unwrap());
    assert!(!channels::update_sync_token(conn, &w.b_channel, "theirs").unwrap());
    assert!(!channels::delete(conn, &w.b_channel).unwrap());

    // A row for B is refused outright.
    let err = channels::upsert(conn, &channel(w.b, &generate_channel_id())).unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");

    sql_query("RESET ROLE").execute(conn).unwrap();
    let b_row = channels::find_by_channel_id(conn, &w.b_channel)
        .unwrap()
        .unwrap();
    assert_eq!(b_row.sync_token, None, "B's channel was not changed");
}

#[derive(QueryableByName)]
struct Owner {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    user_id: UserId,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    sync_token: Option<String>,
}

#[test]
fn blanket_statements_reach_only_the_users_rows() {
    // Statements without a WHERE clause are filtered by the UPDATE/DELETE policies alone
    // (no SELECT policy applies), so this checks those policies themselves.
    let mut w = world();
    let conn = &mut w.conn;
    let updated = sql_query("UPDATE calendar_sync_channels SET sync_token = 'blanket'")
        .execute(conn)
        .unwrap();
    assert_eq!(updated, 1);
    // Handing one's own row to another user is refused by the WITH CHECK clause.
    let err = sql_query(format!(
        "UPDATE calendar_sync_channels SET user_id = '{}'",
        w.b
    ))
    .execute(conn)
    .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    let deleted = sql_query("DELETE FROM case_event_links")
        .execute(conn)
        .unwrap();
    assert_eq!(deleted, 1);
    let updated_links = sql_query("UPDATE case_event_links SET dismissed = true")
        .execute(conn)
        .unwrap();
    assert_eq!(
        updated_links, 0,
        "A's only link is gone; B's is out of reach"
    );

    sql_query("RESET ROLE").execute(conn).unwrap();
    let rows: Vec<Owner> = sql_query(
        "SELECT user_id, sync_token FROM calendar_sync_channels ORDER BY sync_token NULLS LAST",
    )
    .load(conn)
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].user_id, rows[0].sync_token.as_deref()),
        (w.a, Some("blanket"))
    );
    assert_eq!(
        (rows[1].user_id, rows[1].sync_token.as_deref()),
        (w.b, None)
    );
    assert_eq!(links::list_for_case(conn, w.b_case).unwrap().len(), 1);
    let _ = w.a_link;
}

#[test]
fn a_sees_and_changes_only_their_own_links() {
    let mut w = world();
    let conn = &mut w.conn;
    assert!(links::list_for_case(conn, w.b_case).unwrap().is_empty());
    assert!(!links::set_dismissed(conn, w.b_link, true).unwrap());
    assert!(links::set_dismissed(conn, w.a_link, true).unwrap());
    assert!(!links::delete(conn, w.b_link).unwrap());

    // Claiming B's case for a link is refused, whichever user id the row names.
    assert!(links::insert(conn, &link(w.b_case, w.b, "ccccc")).is_err());
    sql_query("RESET ROLE").execute(conn).unwrap();
    assert_eq!(links::list_for_case(conn, w.b_case).unwrap().len(), 1);
}

#[test]
fn no_client_role_reads_credentials() {
    let mut w = world();
    sql_query("RESET ROLE").execute(&mut w.conn).unwrap();
    let c = calsync::crypto::TokenCipher::new(
        1,
        calsync::crypto::EncryptionKey::random(),
        Default::default(),
    );
    creds::store_refresh_token(&mut w.conn, &c, w.a, "1//a", "").unwrap();
    act_as(&mut w.conn, w.a);
    let err = creds::find(&mut w.conn, w.a).unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
}
