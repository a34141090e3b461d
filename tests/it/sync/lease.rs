//! The fenced calendar lease: one holder at a time; an expired holder cannot commit; a
//! waiting inbound sync goes before the next push; a holder's heartbeat keeps it, and a
//! dead holder's lease frees within its lifetime.

use std::time::{Duration, Instant};

use calsync::db::models::NewCalendarChannel;
use calsync::db::models::calendar_channel::{self as channels, ChannelStatus};
use calsync::db::models::channel_lease::{self as lease, LeaseOutcome};
use calsync::lease::{Taken, take_for_push, take_for_sync};
use uuid::Uuid;

use crate::helpers::builders::insert_user;
use crate::helpers::test_db::TestDb;

fn channel(db: &TestDb, channel_id: &str) -> Uuid {
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    channels::upsert(
        &mut conn,
        &NewCalendarChannel {
            user_id: user,
            calendar_id: "primary",
            channel_id,
            resource_id: "r",
            resource_uri: None,
            sync_token: None,
            expiration_timestamp: 1,
        },
    )
    .unwrap()
    .id
}

#[test]
fn one_holder_at_a_time_and_an_expired_holder_is_fenced_out() {
    let db = TestDb::new();
    let row = channel(&db, "ch-1");
    let mut conn = db.conn();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let short = Duration::from_millis(300);

    assert!(matches!(
        lease::acquire_for_sync(&mut conn, "ch-1", a, short).unwrap(),
        LeaseOutcome::Acquired(_)
    ));
    assert_eq!(
        lease::acquire_for_sync(&mut conn, "ch-1", b, short).unwrap(),
        LeaseOutcome::Busy
    );
    assert!(lease::fence(&mut conn, row, a).unwrap().is_some());
    assert!(lease::fence(&mut conn, row, b).unwrap().is_none());

    std::thread::sleep(Duration::from_millis(400));
    assert!(
        lease::fence(&mut conn, row, a).unwrap().is_none(),
        "expired lease fences its holder out"
    );
    assert!(!lease::extend(&mut conn, row, a, short).unwrap());
    assert!(matches!(
        lease::acquire_for_sync(&mut conn, "ch-1", b, short).unwrap(),
        LeaseOutcome::Acquired(_)
    ));
    lease::release(&mut conn, row, a).unwrap(); // not a's any more: no effect
    assert!(lease::fence(&mut conn, row, b).unwrap().is_some());
    lease::release(&mut conn, row, b).unwrap();
    assert!(matches!(
        lease::acquire_for_push(&mut conn, row, a, short).unwrap(),
        LeaseOutcome::Acquired(_)
    ));

    channels::set_status(&mut conn, "ch-1", ChannelStatus::NeedsReauth).unwrap();
    assert_eq!(
        lease::acquire_for_sync(&mut conn, "ch-1", b, short).unwrap(),
        LeaseOutcome::Inactive(ChannelStatus::NeedsReauth)
    );
    assert_eq!(
        lease::acquire_for_sync(&mut conn, "nope", b, short).unwrap(),
        LeaseOutcome::Unknown
    );
}

#[test]
fn a_sync_that_found_the_calendar_busy_goes_before_the_next_push() {
    let db = TestDb::new();
    let row = channel(&db, "ch-2");
    let mut conn = db.conn();
    let (pusher, syncer, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let ttl = Duration::from_secs(5);
    assert!(matches!(
        lease::acquire_for_push(&mut conn, row, pusher, ttl).unwrap(),
        LeaseOutcome::Acquired(_)
    ));
    // A sync arrives while the push holds it, and is told to wait.
    assert_eq!(
        lease::acquire_for_sync(&mut conn, "ch-2", syncer, ttl).unwrap(),
        LeaseOutcome::Busy
    );
    lease::release(&mut conn, row, pusher).unwrap();
    // The free lease is not the next push's while the sync waits ...
    assert_eq!(
        lease::acquire_for_push(&mut conn, row, other, ttl).unwrap(),
        LeaseOutcome::Busy
    );
    // ... it is the sync's, and once that releases, pushes take turns again.
    assert!(matches!(
        lease::acquire_for_sync(&mut conn, "ch-2", syncer, ttl).unwrap(),
        LeaseOutcome::Acquired(_)
    ));
    lease::release(&mut conn, row, syncer).unwrap();
    assert!(matches!(
        lease::acquire_for_push(&mut conn, row, other, ttl).unwrap(),
        LeaseOutcome::Acquired(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_holder_keeps_its_lease_past_its_lifetime_and_a_dead_one_loses_it_within_it() {
    let db = TestDb::new();
    let row = channel(&db, "ch-3");
    let pool = db.db();
    // Long enough that a heartbeat (every third of it) is never late on a loaded machine.
    let ttl = Duration::from_secs(2);

    let Taken::Held(held, _) = take_for_sync(&pool, "ch-3", ttl).await.unwrap() else {
        panic!("the lease was free");
    };
    // Three lifetimes later the heartbeat still holds it: nobody else gets it.
    tokio::time::sleep(ttl * 3).await;
    assert!(held.is_held());
    assert!(matches!(
        take_for_push(&pool, row, ttl).await.unwrap(),
        Taken::Busy
    ));
    held.release().await;
    // A holder dies: its runtime (here a thread's own; a process in production) stops with
    // the heartbeat, and nothing releases the lease. It frees within one lifetime.
    let url = db.url().to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let pool = calsync::db::Db::new(&calsync::config::DatabaseConfig::for_url(&url));
        let taken = runtime.block_on(take_for_sync(&pool, "ch-3", ttl)).unwrap();
        let Taken::Held(lease, _) = taken else {
            panic!("the lease was free");
        };
        std::mem::forget(lease);
        runtime.shutdown_background();
    })
    .join()
    .unwrap();
    let died = Instant::now();
    let freed = loop {
        if let Taken::Held(lease, _) = take_for_sync(&pool, "ch-3", ttl).await.unwrap() {
            lease.release().await;
            break died.elapsed();
        }
        assert!(
            died.elapsed() < ttl * 3,
            "the dead holder's lease never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(freed <= ttl + Duration::from_millis(400), "{freed:?}");
}

#[test]
fn a_renewal_swapping_the_channel_id_under_a_held_lease_strands_nothing() {
    let db = TestDb::new();
    let row = channel(&db, "ch-old");
    let mut conn = db.conn();
    let holder = Uuid::new_v4();
    let ttl = Duration::from_secs(5);
    assert!(matches!(
        lease::acquire_for_sync(&mut conn, "ch-old", holder, ttl).unwrap(),
        LeaseOutcome::Acquired(_)
    ));
    // A renewal re-watches the calendar: the row takes the new channel id.
    let user = channels::find(&mut conn, row).unwrap().unwrap().user_id;
    let swapped = channels::upsert(
        &mut conn,
        &NewCalendarChannel {
            user_id: user,
            calendar_id: "primary",
            channel_id: "ch-new",
            resource_id: "r2",
            resource_uri: None,
            sync_token: None,
            expiration_timestamp: 2,
        },
    )
    .unwrap();
    assert_eq!(swapped.id, row, "the row, and so its lease, is the same");
    // The holder still holds it, can still commit, and its release frees it for the new id.
    assert!(lease::fence(&mut conn, row, holder).unwrap().is_some());
    assert_eq!(
        lease::acquire_for_sync(&mut conn, "ch-new", Uuid::new_v4(), ttl).unwrap(),
        LeaseOutcome::Busy
    );
    lease::release(&mut conn, row, holder).unwrap();
    assert!(matches!(
        lease::acquire_for_sync(&mut conn, "ch-new", Uuid::new_v4(), ttl).unwrap(),
        LeaseOutcome::Acquired(_)
    ));
}
