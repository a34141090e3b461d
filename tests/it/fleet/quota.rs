//! The shared quota with three workers pushing for two users: no user ever over its budget
//! at Google, whatever the number of processes, and nothing dropped.

use std::time::Duration;

use gcal_emulator::{EmulatorConfig, RecordedRequest};

use super::support::Fleet;
use crate::helpers::builders::insert_case;
use crate::helpers::test_redis::eventually;

const BUDGET: u64 = 20;
const CASES: usize = 30;

/// Quota units a user's calendar saw (a patch counts three, as Google counts it).
fn units(requests: &[RecordedRequest], calendar: &str) -> u64 {
    requests
        .iter()
        .filter(|r| r.path.starts_with("/calendar/v3/") && r.path.contains(calendar))
        .map(|r| if r.method == "PATCH" { 3 } else { 1 })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_pushing_never_take_a_user_over_its_budget() {
    let mut f = Fleet::start(EmulatorConfig::default(), 2).await;
    f.redis.expect_jobs_left();
    f.watch(1).await;
    let mut conn = f.db.conn();
    for user in &f.users {
        for _ in 0..CASES {
            let case = insert_case(&mut conn, user.id);
            f.sql(&format!(
                "UPDATE cases SET rfe_due_date = current_date + 30 WHERE id = '{}'",
                case.0
            ));
        }
    }
    // From here on the emulator refuses anything over the budget in any 60 s.
    f.emu.set_quota(Some(u32::try_from(BUDGET).unwrap()));
    let before = f.requests_so_far();

    let budget = BUDGET.to_string();
    f.spawn_workers(
        3,
        &[
            ("GOOGLE_USER_QUOTA_PER_MINUTE", budget.as_str()),
            ("PUSH_BATCH_CASES", "5"),
        ],
    );
    eventually(
        Duration::from_secs(60),
        "both users' pushes to use their budget",
        || async {
            let requests = f.api_requests(before);
            f.users
                .iter()
                .all(|u| units(&requests, &u.google.calendar_id) >= BUDGET * 3 / 4)
                && f.quota_stat("waits:push") > 0
        },
    )
    .await;
    // The pushes keep waiting for room: nothing more reaches Google within the minute.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(f.all_running(), "a worker died");

    let requests = f.api_requests(before);
    for user in &f.users {
        let used = units(&requests, &user.google.calendar_id);
        assert!(used <= BUDGET, "user used {used} units of {BUDGET}");
    }
    let refused: Vec<_> = requests
        .iter()
        .filter(|r| r.status == 403 || r.status == 429)
        .collect();
    assert!(refused.is_empty(), "Google refused: {refused:?}");
    // Nothing is dropped: the rest of the cases wait in the outbox.
    for user in &f.users {
        let waiting: i64 = diesel::RunQueryDsl::get_result::<Waiting>(
            diesel::sql_query(format!(
                "SELECT count(*) AS n FROM calendar_outbox WHERE user_id = '{}'",
                user.id.0
            )),
            &mut conn,
        )
        .unwrap()
        .n;
        assert!(waiting > 0, "the outbox keeps what could not be pushed yet");
    }
}

#[derive(diesel::QueryableByName)]
struct Waiting {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
