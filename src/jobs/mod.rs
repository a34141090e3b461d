//! Background jobs: their payloads (one file per job type), what they run with, how the
//! webhook and the sweeps enqueue them (`JobQueue`), and the periodic duties that enqueue
//! (outbox sweep, backstop). Whether a failed job runs again is the retry policy's decision
//! (`crate::retry`); the queue carries it out.

pub mod backstop;
pub mod cleanup;
mod enqueue;
pub mod outbox_sweep;
pub mod process_calendar_changes;
pub mod push_case_changes;

use crate::inbound::SyncContext;
use crate::outbound::PushContext;
use crate::queue::JobFailure;
use crate::quota::{Lane, in_lane};
use crate::retry::{Classify, Decision, RetryPolicy, Work};
pub use enqueue::JobQueue;

/// What every job handler gets: the inbound and outbound sides, the retry policy, and the
/// per-channel burst throttle (`SYNC_MIN_INTERVAL_MS`; `None` syncs every notification).
#[derive(Clone)]
pub struct JobContext {
    pub sync: SyncContext,
    pub push: PushContext,
    pub retry: RetryPolicy,
    pub sync_min_interval: Option<std::time::Duration>,
}

/// A job payload and how it runs. Every queue's worker runs one of these.
pub trait Job: serde::de::DeserializeOwned + Send + 'static {
    /// The queue's name in Redis. Fixed: renaming the type must not orphan queued jobs.
    const QUEUE: &'static str;

    /// Runs the job's `attempt`-th try (1 = the first).
    fn run(
        &self,
        ctx: &JobContext,
        attempt: u32,
    ) -> impl std::future::Future<Output = Result<(), JobFailure>> + Send;
}

impl Job for process_calendar_changes::ProcessCalendarChanges {
    const QUEUE: &'static str = process_calendar_changes::ProcessCalendarChanges::QUEUE;

    fn run(
        &self,
        ctx: &JobContext,
        attempt: u32,
    ) -> impl std::future::Future<Output = Result<(), JobFailure>> + Send {
        // Message number 0: a backstop poll no notification asked for.
        let lane = if self.message_number > 0 {
            Lane::Notification
        } else {
            Lane::Backstop
        };
        in_lane(lane, process_calendar_changes::run(ctx, self, attempt))
    }
}

impl Job for push_case_changes::PushCaseChanges {
    const QUEUE: &'static str = push_case_changes::PushCaseChanges::QUEUE;

    fn run(
        &self,
        ctx: &JobContext,
        attempt: u32,
    ) -> impl std::future::Future<Output = Result<(), JobFailure>> + Send {
        in_lane(Lane::Push, push_case_changes::run(ctx, self, attempt))
    }
}

/// Turns a job's failure into what the queue does, as the retry policy decides: parked work
/// ends the job (the rows say why; retrying would fail the same way), anything else goes
/// back to the queue or to the dead set.
pub fn decide<E>(retry: &RetryPolicy, error: E, attempt: u32, what: &str) -> Result<(), JobFailure>
where
    E: Classify + std::error::Error + Send + Sync + 'static,
{
    let decision = retry.decide(Work::Job, error.classify(), attempt);
    let error = anyhow::Error::new(error).context(what.to_owned());
    match decision {
        Decision::Park(why) => {
            log::warn!("{error:#}; parked ({why:?}) until someone acts");
            Ok(())
        }
        Decision::Defer(after) => Err(JobFailure::Defer { after, error }),
        Decision::Requeue(after) | Decision::RetryNow(after) => {
            Err(JobFailure::Retry { after, error })
        }
        Decision::Drop => Err(JobFailure::Dead(error)),
    }
}
