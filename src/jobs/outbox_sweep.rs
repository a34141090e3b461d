//! The outbox sweep: finds users whose outbox rows are due and enqueues one (coalesced)
//! `PushCaseChanges` job each. It runs in every worker process; concurrent sweeps are
//! harmless because the enqueue coalesces per user. If Redis is down the rows simply wait
//! for a later sweep: nothing written to `cases` is lost.

use std::time::Duration;

use super::JobQueue;
use crate::db::models::outbox;
use crate::db::{Db, DbError};

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

/// Sweeps every `interval` until `shutdown` resolves.
pub async fn run(
    db: Db,
    queue: JobQueue,
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
        if let Err(e) = sweep_once(&db, &queue).await {
            log::warn!("outbox sweep failed (rows stay for the next one): {e:#}");
        }
    }
}
