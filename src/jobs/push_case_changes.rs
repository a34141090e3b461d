//! `PushCaseChanges`: "this user's outbox has case changes for Google". Enqueued by the
//! outbox sweep, coalesced per user. The outbox rows, not the job, are the durable record:
//! a failed push backs its rows off (`available_at`) and the sweep enqueues the job again
//! when they are due, so the job itself never needs the queue's retries.

use serde::{Deserialize, Serialize};

use super::JobContext;
use crate::ids::UserId;
use crate::outbound::{PushOutcome, push_user};
use crate::queue::JobFailure;

/// The payload. Fields are only ever added, with `#[serde(default)]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushCaseChanges {
    pub user_id: UserId,
}

impl PushCaseChanges {
    /// The queue's name in Redis.
    pub const QUEUE: &'static str = "push_case_changes";
}

pub async fn run(ctx: &JobContext, job: &PushCaseChanges, _attempt: u32) -> Result<(), JobFailure> {
    match push_user(&ctx.push, job.user_id).await {
        Ok(PushOutcome::Pushed(report)) => {
            log::info!(
                "pushed {} case(s) for user {}: {} inserted, {} patched, {} deleted, {} adopted, {} synced first (412){}",
                report.cases,
                job.user_id,
                report.inserted,
                report.patched,
                report.deleted,
                report.adopted,
                report.synced_first,
                if report.more_pending {
                    "; more waiting"
                } else {
                    ""
                },
            );
            Ok(())
        }
        Ok(PushOutcome::Deferred) => {
            log::info!(
                "user {} must reconnect Google; their outbox waits",
                job.user_id
            );
            Ok(())
        }
        Ok(PushOutcome::NoCalendar) => Ok(()),
        // The failed case's outbox rows are already backed off (or the user parked) as the
        // retry policy decided; the sweep enqueues the push again when they are due, so the
        // job itself never needs the queue's retries.
        Err(e) => {
            log::warn!("push for user {} failed: {e}", job.user_id);
            Ok(())
        }
    }
}
