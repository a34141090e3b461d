//! The fenced sync lease: one holder at a time; an expired holder cannot commit.

use std::time::Duration;

use calsync::db::models::NewCalendarChannel;
use calsync::db::models::calendar_channel::{self as channels, ChannelStatus};
use calsync::db::models::channel_lease::{self as lease, LeaseOutcome};
use uuid::Uuid;

use crate::helpers::builders::insert_user;
use crate::helpers::test_db::TestDb;

#[test]
fn one_holder_at_a_time_and_an_expired_holder_is_fenced_out() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    channels::upsert(
        &mut conn,
        &NewCalendarChannel {
            user_id: user,
            calendar_id: "primary",
            channel_id: "ch-1",
            resource_id: "r",
            resource_uri: None,
            sync_token: None,
            expiration_timestamp: 1,
        },
    )
    .unwrap();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let short = Duration::from_millis(300);

    assert!(matches!(
        lease::acquire(&mut conn, "ch-1", a, short).unwrap(),
        LeaseOutcome::Acquired(_)
    ));
    assert_eq!(
        lease::acquire(&mut conn, "ch-1", b, short).unwrap(),
        LeaseOutcome::Busy
    );
    assert!(lease::fence(&mut conn, "ch-1", a).unwrap().is_some());
    assert!(lease::fence(&mut conn, "ch-1", b).unwrap().is_none());

    std::thread::sleep(Duration::from_millis(400));
    assert!(
        lease::fence(&mut conn, "ch-1", a).unwrap().is_none(),
        "expired lease fences its holder out"
    );
    assert!(!lease::extend(&mut conn, "ch-1", a, short).unwrap());
    assert!(matches!(
        lease::acquire(&mut conn, "ch-1", b, short).unwrap(),
        LeaseOutcome::Acquired(_)
    ));
    lease::release(&mut conn, "ch-1", a).unwrap(); // not a's any more: no effect
    assert!(lease::fence(&mut conn, "ch-1", b).unwrap().is_some());
    lease::release(&mut conn, "ch-1", b).unwrap();
    assert!(matches!(
        lease::acquire(&mut conn, "ch-1", a, short).unwrap(),
        LeaseOutcome::Acquired(_)
    ));

    channels::set_status(&mut conn, "ch-1", ChannelStatus::NeedsReauth).unwrap();
    assert_eq!(
        lease::acquire(&mut conn, "ch-1", b, short).unwrap(),
        LeaseOutcome::Inactive(ChannelStatus::NeedsReauth)
    );
    assert_eq!(
        lease::acquire(&mut conn, "nope", b, short).unwrap(),
        LeaseOutcome::Unknown
    );
}
