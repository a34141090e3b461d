//! The backstop with three workers: each due poll made once, a channel that notified
//! recently pushed back instead of polled, and a poll that finds changes no notification
//! announced counted, marked suspect and watched again.

use std::time::Duration;

use chrono::NaiveDate;
use gcal_emulator::{EmulatorConfig, EventInput, NotificationMode, RecordedRequest};

use super::support::{Fleet, PUBLIC_URL, is};
use crate::helpers::test_redis::eventually;

fn listings_of(requests: &[RecordedRequest], calendar: &str) -> usize {
    requests
        .iter()
        .filter(|r| is(r, "GET", "/events") && r.path.contains(calendar))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_poll_each_due_channel_once_and_watch_a_silent_one_again() {
    let mut f = Fleet::start(EmulatorConfig::default(), 1).await;
    f.redis.expect_jobs_left();
    let channels = f.watch(4).await;
    let calendar = |i: usize| channels[i].calendar_id.clone();
    // All idle for two hours, except calendar 1, which had a notification just now.
    f.sql("UPDATE calendar_sync_channels SET backstop_due_at = NULL, last_notification_at = now() - interval '2 hours'");
    f.sql(&format!(
        "UPDATE calendar_sync_channels SET last_notification_at = now() WHERE calendar_id = '{}'",
        calendar(1)
    ));
    // A change on calendar 2 whose notification Google never sends.
    f.emu.set_notification_mode(NotificationMode::Drop);
    let day = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    f.emu
        .user_create_event(&calendar(2), &EventInput::all_day("Lunch", day, 1))
        .unwrap();
    let before = f.requests_so_far();

    f.spawn_workers(
        3,
        &[
            ("BACKSTOP_SYNC_INTERVAL_SECS", "3600"),
            ("BACKSTOP_CHECK_INTERVAL_MS", "100"),
            ("WEBHOOK_PUBLIC_URL", PUBLIC_URL),
            ("CHANNEL_RENEWAL_INTERVAL_SECS", "1"),
        ],
    );
    eventually(
        Duration::from_secs(60),
        "the idle channels polled and the silent one watched again",
        || async {
            let requests = f.api_requests(before);
            [0, 2, 3]
                .iter()
                .all(|i| listings_of(&requests, &calendar(*i)) >= 1)
                && f.quota_stat("missed_changes") == 1
                && f.channels()
                    .iter()
                    .all(|c| c.channel_id != channels[2].channel_id)
        },
    )
    .await;
    // Many more checks of every worker: nothing is polled twice.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(f.all_running(), "a worker died");

    let requests = f.api_requests(before);
    assert_eq!(listings_of(&requests, &calendar(0)), 1);
    assert_eq!(
        listings_of(&requests, &calendar(1)),
        0,
        "it notified recently"
    );
    // The poll, then the first sync of its new channel.
    assert_eq!(listings_of(&requests, &calendar(2)), 2);
    assert_eq!(listings_of(&requests, &calendar(3)), 1);
    let watches: Vec<_> = requests
        .iter()
        .filter(|r| is(r, "POST", "/events/watch"))
        .collect();
    assert_eq!(
        watches.len(),
        1,
        "only the suspect channel is watched again"
    );
    assert!(watches[0].path.contains(&calendar(2)));
    assert_eq!(f.quota_stat("missed_changes"), 1);

    let rows = f.channels();
    assert!(rows.iter().all(|c| c.status.as_str() == "active"));
    let pushed_back = count(
        &f,
        &format!(
            "SELECT count(*) AS n FROM calendar_sync_channels WHERE calendar_id = '{}' \
             AND backstop_due_at > now() + interval '50 minutes'",
            calendar(1)
        ),
    );
    assert_eq!(
        pushed_back, 1,
        "the recent notification pushed its poll back"
    );
    let suspect = count(
        &f,
        "SELECT count(*) AS n FROM calendar_sync_channels WHERE suspect_since IS NOT NULL",
    );
    assert_eq!(suspect, 0, "watching it again ends the suspicion");
}

fn count(f: &Fleet, query: &str) -> i64 {
    diesel::RunQueryDsl::get_result::<Count>(diesel::sql_query(query), &mut f.db.conn())
        .unwrap()
        .n
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
