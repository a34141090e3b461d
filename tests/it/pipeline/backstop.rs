//! Notifications Google never delivers: the backstop sync still brings the change in.

use std::time::Duration;

use calsync::domain::DeadlineKind;
use calsync::jobs::JobQueue;
use calsync::jobs::backstop::enqueue_all_active;
use chrono::NaiveDate;
use gcal_emulator::{EventTime, NotificationMode};

use crate::helpers::calendar_fixtures::{deadline_of, linked_deadline};
use crate::helpers::pipeline::Pipeline;
use crate::helpers::test_redis::eventually;

#[tokio::test]
async fn a_change_whose_notification_was_lost_arrives_with_the_backstop_sync() {
    let p = Pipeline::start().await;
    let day = |d| NaiveDate::from_ymd_opt(2027, 8, d).unwrap();
    let d = linked_deadline(&p.w, DeadlineKind::RfiDue, day(1));
    p.watch().await;
    p.w.emu.set_notification_mode(NotificationMode::Drop);

    p.w.emu
        .user_move_event(
            p.w.calendar(),
            &d.event_id,
            &EventTime::Date(day(20)),
            &EventTime::Date(day(21)),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        deadline_of(&p.w, &d),
        Some(day(1)),
        "no notification, no sync yet"
    );

    let queue = JobQueue::new(p.redis.conn(), &p.redis.queue_config());
    assert_eq!(enqueue_all_active(&p.w.db.db(), &queue).await.unwrap(), 1);
    eventually(
        Duration::from_secs(10),
        "the backstop sync to apply the move",
        || async { deadline_of(&p.w, &d) == Some(day(20)) },
    )
    .await;
    p.until_idle().await;
    p.stop().await;
}
