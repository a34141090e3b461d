//! The outbox sweep: finds users whose outbox rows are due and enqueues one (coalesced)
//! `PushCaseChanges` job each. Every worker asks for the sweep's turn each interval, and one
//! of them gets it (`FleetTurns`), so the fleet sweeps once per interval however many
//! workers run; concurrent sweeps would be harmless anyway (the enqueue coalesces per user),
//! only wasteful. If Redis is down the rows simply wait for a later sweep: nothing written
//! to `cases` is lost.

use std::time::Duration;

use super::JobQueue;
use crate::db::models::outbox;
use crate::db::{Db, DbError};
use crate::queue::fleet::FleetTurns;

/// Users a sweep looks at, at most.
const USERS_PER_SWEEP: i64 = 1000;

/// One sweep; returns how many users had due rows.
pub async fn sweep_once(db: &Db, queue: &JobQueue) -> anyhow::Result<usize> {
    let users = db
        .run(|conn| Ok::<_, DbError>(outbox::users_with_due_rows(conn, USERS_PER_SWEEP)?))
        .await?;
    for user_id in &users {
        queue.enqueue_push(*user_id).await?;
    }
    Ok(users.len())
}

/// Sweeps every `interval` when it is this worker's turn, until `shutdown` resolves.
pub async fn run(
    db: Db,
    queue: JobQueue,
    turns: FleetTurns,
    interval: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticker.tick() => {}
        }
        // A little under the interval, so the turn is free again when the next tick comes.
        match turns.claim("outbox_sweep", interval.mul_f64(0.9)).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                log::debug!("no sweep turn (Redis: {e}); the rows wait");
                continue;
            }
        }
        if let Err(e) = sweep_once(&db, &queue).await {
            log::warn!("outbox sweep failed (rows stay for the next one): {e:#}");
        }
    }
}
