//! Which users the outbox sweep enqueues a push for.

use calsync::db::models::NewCalendarChannel;
use calsync::db::models::calendar_channel::{self as channels, ChannelStatus};
use calsync::db::models::outbox;

use crate::helpers::builders::{insert_case, insert_user};
use crate::helpers::test_db::TestDb;
use calsync::ids::UserId;

fn watch(conn: &mut diesel::PgConnection, user: UserId, calendar: &str, channel_id: &str) {
    channels::upsert(
        conn,
        &NewCalendarChannel {
            user_id: user,
            calendar_id: calendar,
            channel_id,
            resource_id: "r",
            resource_uri: None,
            sync_token: None,
            expiration_timestamp: 1,
        },
    )
    .unwrap();
}

#[test]
fn users_waiting_for_reauthorisation_are_not_swept_until_they_are_active_again() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (active, parked, unwatched) = (
        insert_user(&mut conn),
        insert_user(&mut conn),
        insert_user(&mut conn),
    );
    watch(&mut conn, active, "primary", "ch-active");
    watch(&mut conn, parked, "primary", "ch-parked");
    channels::mark_user_needs_reauth(&mut conn, parked).unwrap();
    for user in [active, parked, unwatched] {
        insert_case(&mut conn, user); // the trigger writes an outbox row
    }

    let mut due = outbox::users_with_due_rows(&mut conn, 100).unwrap();
    due.sort();
    let mut expected = vec![active, unwatched]; // unwatched: its rows are dropped by the push
    expected.sort();
    assert_eq!(
        due, expected,
        "a parked user's push would only answer Deferred, every sweep"
    );

    // Reconnected and watched again: swept, and the rows kept while parked go out.
    watch(&mut conn, parked, "primary", "ch-rewatched");
    assert_eq!(
        channels::find_by_channel_id(&mut conn, "ch-rewatched")
            .unwrap()
            .unwrap()
            .status,
        ChannelStatus::Active
    );
    assert!(
        outbox::users_with_due_rows(&mut conn, 100)
            .unwrap()
            .contains(&parked)
    );
}
