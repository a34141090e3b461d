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

fn assert_refused<T: std::fmt::Debug>(result: QueryResult<T>) {
    let err = result.expect_err("a client write must be refused");
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[test]
fn a_sees_only_their_own_channels_and_writes_none() {
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

    // Channel rows are calsync's machinery (status, lease, expiry, sync token): a client
    // writes none of them, not even its own.
    assert_refused(channels::update_sync_token(conn, &w.a_channel, "mine"));
    assert_refused(channels::delete(conn, &w.a_channel));
    assert_refused(channels::upsert(
        conn,
        &channel(w.a, &generate_channel_id()),
    ));
    assert_refused(
        sql_query("UPDATE calendar_sync_channels SET sync_token = 'blanket'").execute(conn),
    );

    sql_query("RESET ROLE").execute(conn).unwrap();
    let rows: Vec<Owner> = sql_query("SELECT user_id, sync_token FROM calendar_sync_channels")
        .load(conn)
        .unwrap();
    assert_eq!(rows.len(), 2, "no channel row was added or removed");
    assert!(
        rows.iter().all(|r| r.sync_token.is_none()),
        "no sync token was changed"
    );
    assert!(rows.iter().any(|r| r.user_id == w.b));
}

#[derive(QueryableByName)]
struct Owner {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    user_id: UserId,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    sync_token: Option<String>,
}

#[test]
fn a_sees_only_their_own_links_and_writes_none() {
    let mut w = world();
    let conn = &mut w.conn;
    assert!(links::list_for_case(conn, w.b_case).unwrap().is_empty());
    assert_refused(links::set_dismissed(conn, w.a_link, true));
    assert_refused(links::delete(conn, w.a_link));
    assert_refused(links::insert(conn, &link(w.b_case, w.b, "ccccc")));
    assert_refused(sql_query("DELETE FROM case_event_links").execute(conn));

    sql_query("RESET ROLE").execute(conn).unwrap();
    assert_eq!(links::list_for_case(conn, w.b_case).unwrap().len(), 1);
    let a_links = sql_query(format!(
        "SELECT user_id, NULL::text AS sync_token FROM case_event_links WHERE id = '{}' AND NOT dismissed",
        w.a_link
    ))
    .load::<Owner>(conn)
    .unwrap();
    assert_eq!(a_links.len(), 1, "A's own link is untouched");
    let _ = w.b_link;
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
