//! The whole path once, end to end: a user moves a deadline's event in Google; Google's
//! notification reaches the real webhook, the job goes through Redis to a worker, and the
//! case changes in PostgreSQL.

use std::time::Duration;

use calsync::domain::DeadlineKind;
use chrono::NaiveDate;
use gcal_emulator::EventTime;

use crate::helpers::calendar_fixtures::{deadline_of, linked_deadline};
use crate::helpers::pipeline::Pipeline;
use crate::helpers::test_redis::eventually;

#[tokio::test]
async fn a_move_in_google_reaches_the_case_through_webhook_redis_and_worker() {
    let p = Pipeline::start().await;
    let day = |d| NaiveDate::from_ymd_opt(2027, 6, d).unwrap();
    let d = linked_deadline(&p.w, DeadlineKind::I140FilingDeadline, day(1));
    p.watch().await;

    p.w.emu
        .user_move_event(
            p.w.calendar(),
            &d.event_id,
            &EventTime::Date(day(15)),
            &EventTime::Date(day(16)),
        )
        .unwrap();
    eventually(
        Duration::from_secs(10),
        "the move to reach the case",
        || async { deadline_of(&p.w, &d) == Some(day(15)) },
    )
    .await;
    let delivered = p.w.emu.notifications();
    assert!(
        delivered
            .iter()
            .any(|n| n.resource_state == "exists" && n.status() == Some(200)),
        "{delivered:?}"
    );
    p.until_idle().await;
    p.stop().await;
}
