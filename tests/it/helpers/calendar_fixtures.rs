//! Deadlines that calsync has already put on the emulator's calendar: the event (with
//! calsync's marker and deterministic id) and the link row, as the outbound push leaves them.

use calsync::db::models::case_event_link::{self as links, NewCaseEventLink};
use calsync::db::models::{case, case_deadline};
use calsync::db::schema::calendar_outbox;
use calsync::domain::{DeadlineKind, EventMarker};
use calsync::outbound::event_body::summary;
use chrono::NaiveDate;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::json;

use super::builders::insert_case;
use super::google::GoogleWorld;
use calsync::ids::CaseId;

pub struct LinkedDeadline {
    pub case_id: CaseId,
    pub kind: DeadlineKind,
    pub event_id: String,
}

/// A case of the world's user with `kind` set to `date`, and its event on the calendar.
///
/// All in one transaction, so a worker's outbox sweep running meanwhile never sees the case
/// half made (it would push it before its event and link exist).
pub fn linked_deadline(w: &GoogleWorld, kind: DeadlineKind, date: NaiveDate) -> LinkedDeadline {
    let mut conn = w.db.conn();
    conn.transaction(|conn| Ok::<_, diesel::result::Error>(made_linked(w, conn, kind, date)))
        .unwrap()
}

fn made_linked(
    w: &GoogleWorld,
    conn: &mut PgConnection,
    kind: DeadlineKind,
    date: NaiveDate,
) -> LinkedDeadline {
    let case_id = insert_case(conn, w.user_id);
    diesel::sql_query(format!(
        "UPDATE cases SET {} = $1 WHERE id = $2",
        kind.column()
    ))
    .bind::<diesel::sql_types::Date, _>(date)
    .bind::<diesel::sql_types::Uuid, _>(case_id)
    .execute(conn)
    .unwrap();
    let marker = EventMarker { case_id, kind };
    let event_id = marker.event_id(0);
    let case = case::find(conn, case_id).unwrap().unwrap();
    let title = summary(kind, &case);
    let created = w
        .emu
        .user_create_event_json(
            w.calendar(),
            json!({
                "id": event_id,
                "summary": title,
                "start": {"date": date.to_string()},
                "end": {"date": date.succ_opt().unwrap().to_string()},
                "extendedProperties": {"private": marker.to_properties()},
            }),
        )
        .unwrap();
    let link = links::insert(
        conn,
        &NewCaseEventLink {
            case_id,
            user_id: w.user_id,
            deadline_kind: kind.column(),
            calendar_id: w.calendar(),
            google_event_id: &event_id,
            generation: 0,
            etag: None,
            synced_date: None,
        },
    )
    .unwrap();
    // As the push leaves it: synced at the tracker revision it wrote (the revisions trigger
    // runs at commit; made to run now).
    diesel::sql_query("SET CONSTRAINTS cases_record_deadline_revisions IMMEDIATE")
        .execute(conn)
        .unwrap();
    let rev = case_deadline::revision(conn, case_id, kind).unwrap();
    links::record_push(
        conn,
        link.id,
        created["etag"].as_str().unwrap(),
        date,
        &title,
        rev.tracker_rev,
    )
    .unwrap();
    // The push that wrote the event consumed the case's outbox rows.
    diesel::delete(calendar_outbox::table.filter(calendar_outbox::case_id.eq(case_id)))
        .execute(conn)
        .unwrap();
    LinkedDeadline {
        case_id,
        kind,
        event_id,
    }
}

/// The case's current value of the deadline.
pub fn deadline_of(w: &GoogleWorld, d: &LinkedDeadline) -> Option<NaiveDate> {
    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
        value: Option<NaiveDate>,
    }
    diesel::sql_query(format!(
        "SELECT {} AS value FROM cases WHERE id = $1",
        d.kind.column()
    ))
    .bind::<diesel::sql_types::Uuid, _>(d.case_id)
    .get_result::<Value>(&mut w.db.conn())
    .unwrap()
    .value
}
