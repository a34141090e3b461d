//! Dead-job clean-up: dead jobs are kept for inspection (`calsync_queue_depth{state="dead"}`)
//! for `DEAD_JOB_RETENTION_HOURS`, then forgotten, so the dead set cannot grow without
//! bound. Every worker asks for the turn each interval and one of them runs it; the script
//! is idempotent and forgets a bounded chunk per call.

use std::time::Duration;

use crate::jobs::process_calendar_changes::ProcessCalendarChanges;
use crate::jobs::push_case_changes::PushCaseChanges;
use crate::queue::fleet::FleetTurns;

/// How often the fleet cleans up.
const EVERY: Duration = Duration::from_secs(600);

/// Forgets dead jobs older than `retention`, every ten minutes when it is this worker's
/// turn, forever.
pub async fn run(turns: FleetTurns, retention: Duration) {
    let mut ticker = tokio::time::interval(EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if !matches!(
            turns.claim("dead_job_cleanup", EVERY.mul_f64(0.9)).await,
            Ok(true)
        ) {
            continue;
        }
        for queue in [ProcessCalendarChanges::QUEUE, PushCaseChanges::QUEUE] {
            match turns.trim_dead(queue, retention).await {
                Ok(0) => {}
                Ok(n) => log::info!("forgot {n} dead job(s) of {queue} older than {retention:?}"),
                Err(e) => log::warn!("dead-job clean-up of {queue} failed: {e}"),
            }
        }
    }
}
