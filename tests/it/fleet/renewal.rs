//! Renewal with three workers: each due channel renewed exactly once, the replaced channels
//! stopped, and a channel a dead worker left live at Google stopped too: no orphan.

use std::time::Duration;

use calsync::channel_token;
use calsync::db::models::channel_stray;
use calsync::google::WatchRequest;
use gcal_emulator::EmulatorConfig;

use super::support::{Fleet, PUBLIC_URL, is};
use crate::helpers::test_app::SECRET;
use crate::helpers::test_redis::eventually;

const CALENDARS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_renew_each_channel_once_and_leave_no_orphan_at_google() {
    let mut f = Fleet::start(EmulatorConfig::default(), 1).await;
    let watched = f.watch(CALENDARS).await;
    // Every channel expires within the hour, well inside the day-long renewal window.
    let soon = chrono::Utc::now().timestamp_millis() + 3_600_000;
    f.sql(&format!(
        "UPDATE calendar_sync_channels SET expiration_timestamp = {soon}"
    ));
    // What a worker killed between events.watch and recording the row leaves: a channel
    // live at Google, its stray record, and no row naming it.
    let stray_id = calsync::db::models::calendar_channel::generate_channel_id();
    let user = &f.users[0];
    let request = WatchRequest {
        id: stray_id.clone(),
        kind: "web_hook",
        address: Fleet::target().address,
        token: channel_token::derive(&SECRET.to_owned().into(), &stray_id),
        params: None,
    };
    let live = f
        .ctx
        .google
        .session(user.id)
        .watch(&user.google.calendar_id, &request)
        .await
        .unwrap();
    channel_stray::record(
        &mut f.db.conn(),
        &stray_id,
        user.id,
        &live.resource_id,
        Duration::ZERO,
    )
    .unwrap();
    assert_eq!(f.live_channels().len(), CALENDARS + 1);
    let before = f.requests_so_far();

    f.spawn_workers(
        3,
        &[
            ("WEBHOOK_PUBLIC_URL", PUBLIC_URL),
            ("CHANNEL_RENEWAL_INTERVAL_SECS", "1"),
        ],
    );
    eventually(
        Duration::from_secs(60),
        "every channel renewed and every stray stopped",
        || async {
            f.channels().iter().all(|c| c.expiration_timestamp > soon)
                && channel_stray::list(&mut f.db.conn()).unwrap().is_empty()
        },
    )
    .await;
    // A few more passes of every worker: nothing is renewed twice.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(f.all_running(), "a worker died");

    let requests = f.api_requests(before);
    let watches = requests
        .iter()
        .filter(|r| is(r, "POST", "/events/watch"))
        .count();
    assert_eq!(
        watches, CALENDARS,
        "each channel watched again exactly once"
    );
    let stops: Vec<_> = requests
        .iter()
        .filter(|r| is(r, "POST", "/channels/stop"))
        .collect();
    assert_eq!(
        stops.len(),
        CALENDARS + 1,
        "the replaced channels and the stray"
    );
    assert!(stops.iter().all(|r| r.status == 204), "{stops:?}");

    let mut live = f.live_channels();
    live.sort();
    let mut rows: Vec<_> = f.channels().into_iter().map(|c| c.channel_id).collect();
    rows.sort();
    assert_eq!(live, rows, "exactly the rows' channels are live at Google");
    assert!(watched.iter().all(|old| !rows.contains(&old.channel_id)));
    assert!(!live.contains(&stray_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_between_watch_and_recording_leaves_a_stray_the_next_worker_stops() {
    let mut f = Fleet::start(EmulatorConfig::default(), 1).await;
    f.redis.expect_jobs_left();
    let old = f.watch(1).await.remove(0);
    f.sql(&format!(
        "UPDATE calendar_sync_channels SET expiration_timestamp = {}",
        chrono::Utc::now().timestamp_millis() + 3_600_000
    ));
    // Google takes 3 s to answer (the watch takes effect half-way), so the worker is still
    // waiting for its answer when the test locks the stray records: the swap, which takes
    // the new channel's record first, then blocks until the worker is killed.
    f.emu
        .set_api_latency(Some((Duration::from_secs(3), Duration::from_secs(3))));
    let env = [
        ("WEBHOOK_PUBLIC_URL", PUBLIC_URL),
        ("CHANNEL_RENEWAL_INTERVAL_SECS", "1"),
        ("CHANNEL_RENEWAL_CLAIM_SECS", "2"),
    ];
    f.spawn_workers(1, &env);
    eventually(
        Duration::from_secs(30),
        "the new channel's stray record",
        || async { !channel_stray::list(&mut f.db.conn()).unwrap().is_empty() },
    )
    .await;
    let mut lock = f.db.conn();
    diesel::RunQueryDsl::execute(diesel::sql_query("BEGIN"), &mut lock).unwrap();
    diesel::RunQueryDsl::execute(
        diesel::sql_query("SELECT 1 FROM channel_strays FOR UPDATE"),
        &mut lock,
    )
    .unwrap();
    eventually(
        Duration::from_secs(30),
        "the watch to take effect at Google",
        || async { f.live_channels().len() == 2 },
    )
    .await;
    // Past the watch's answer: the worker is blocked in the swap.
    tokio::time::sleep(Duration::from_secs(4)).await;
    f.workers[0].kill();
    diesel::RunQueryDsl::execute(diesel::sql_query("ROLLBACK"), &mut lock).unwrap();
    assert_eq!(
        f.channels()[0].channel_id,
        old.channel_id,
        "the killed worker recorded nothing"
    );
    let strays = channel_stray::list(&mut f.db.conn()).unwrap();
    assert_eq!(strays.len(), 1, "{strays:?}");
    let stray = strays[0].channel_id.clone();
    assert!(
        f.live_channels().contains(&stray),
        "live at Google, named by no row"
    );

    f.emu.set_api_latency(None);
    f.spawn_workers(1, &env);
    // A renewal has the new channel live before it stops the old one, so two may be live for
    // a moment; what must not happen is that any channel but the row's stays live.
    eventually(
        Duration::from_secs(60),
        "the stray stopped, the channel renewed and no orphan left at Google",
        || async {
            let row = f.channels()[0].channel_id.clone();
            channel_stray::list(&mut f.db.conn()).unwrap().is_empty()
                && row != old.channel_id
                && f.live_channels() == [row]
        },
    )
    .await;
    assert!(!f.live_channels().contains(&stray));
}
