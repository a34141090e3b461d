//! A burst of notifications on one channel: the first syncs at once, the rest join one
//! trailing sync per `SYNC_MIN_INTERVAL_MS` (default 1 s), and the last change is listed.

use std::time::Duration;

use chrono::NaiveDate;
use gcal_emulator::EventInput;

use crate::helpers::pipeline::Pipeline;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_notifications_costs_one_listing_per_interval_and_lists_the_last_change() {
    let p = Pipeline::start().await;
    p.watch().await;
    p.until_idle().await;
    let before = p.w.emu.requests().len();
    let day = NaiveDate::from_ymd_opt(2027, 5, 1).unwrap();
    // 40 changes 50 ms apart: 2 s of notifications.
    let mut last_change = chrono::Utc::now();
    for n in 0..40 {
        p.w.emu
            .user_create_event(
                p.w.calendar(),
                &EventInput::all_day(&format!("e{n}"), day, 1),
            )
            .unwrap();
        last_change = chrono::Utc::now();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    p.until_idle().await;

    let listings: Vec<_> =
        p.w.emu
            .requests()
            .split_off(before)
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.ends_with("/events"))
            .collect();
    let (first, last) = (listings[0].at, listings[listings.len() - 1].at);
    assert!(
        last > last_change,
        "a listing started after the last change"
    );
    // One listing at once, then at most one per second of the burst (plus the trailing one).
    let span = usize::try_from((last - first).num_milliseconds()).unwrap();
    assert!(
        listings.len() <= span / 1000 + 2,
        "{} listings over {span} ms for 40 notifications",
        listings.len()
    );
    assert!(listings.len() < 10, "{} listings", listings.len());
    p.stop().await;
}
