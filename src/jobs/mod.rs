//! Background jobs: the context they run with, the single place that decides retry versus
//! abort, and the worker wiring. One file per job type; HTTP code only enqueues (through
//! `queue::JobQueue`).

pub mod backstop;
pub mod outbox_sweep;
pub mod process_calendar_changes;
pub mod push_case_changes;
mod worker;

use std::sync::Arc;

use crate::db::{Db, DbError};
use crate::sync::SyncContext;
pub use worker::{WorkerSettings, run_worker};

/// What every job handler gets: the database, and the Google side (the sync context).
#[derive(Clone)]
pub struct JobContext {
    pub db: Db,
    pub sync: SyncContext,
    /// Cases one `PushCaseChanges` job takes.
    pub push_batch_cases: i64,
    /// Paces the push's Google requests per user (shared by every job of the process).
    pub push_pacer: crate::outbound::Pacer,
}

/// How a job failed; this decides whether it runs again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// Worth trying again later (database or network trouble, rate limits): retried with
    /// exponential backoff up to `JOB_MAX_ATTEMPTS`.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// Will fail the same way every time (bad payload, revoked grant): moved to the dead set
    /// at once.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
}

impl JobError {
    /// A database error: pool exhaustion, lost connections and the like are transient;
    /// constraint violations say the job itself is wrong.
    pub fn from_db(e: DbError) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as Q};
        match e {
            DbError::Query(Q::DatabaseError(
                K::UniqueViolation
                | K::ForeignKeyViolation
                | K::CheckViolation
                | K::NotNullViolation,
                _,
            )) => Self::Permanent(e.into()),
            other => Self::Transient(other.into()),
        }
    }

    /// The apalis error the queue backend acts on: `Abort` goes to the dead set, anything
    /// else is retried.
    pub fn into_apalis(self) -> apalis_core::error::Error {
        use apalis_core::error::Error;
        let permanent = matches!(self, Self::Permanent(_));
        let boxed: apalis_core::error::BoxDynError = Box::new(self);
        if permanent {
            Error::Abort(Arc::new(boxed))
        } else {
            Error::Failed(Arc::new(boxed))
        }
    }
}

/// A job payload and how it runs. Every queue's worker is [`run_job_worker`] over one of
/// these.
pub trait Job: serde::de::DeserializeOwned + Send + 'static {
    fn run(
        &self,
        ctx: &JobContext,
    ) -> impl std::future::Future<Output = Result<(), JobError>> + Send;
}

impl Job for process_calendar_changes::ProcessCalendarChanges {
    fn run(
        &self,
        ctx: &JobContext,
    ) -> impl std::future::Future<Output = Result<(), JobError>> + Send {
        process_calendar_changes::run(ctx, self)
    }
}

impl Job for push_case_changes::PushCaseChanges {
    fn run(
        &self,
        ctx: &JobContext,
    ) -> impl std::future::Future<Output = Result<(), JobError>> + Send {
        push_case_changes::run(ctx, self)
    }
}

/// Runs the worker for job type `J` on `queue` until `shutdown` resolves (see [`run_worker`]).
pub async fn run_job_worker<J: Job>(
    ctx: Arc<JobContext>,
    queue: crate::queue::RedisQueue,
    settings: WorkerSettings,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    run_worker(
        queue,
        settings,
        ctx,
        |job: J, ctx| async move { job.run(&ctx).await },
        shutdown,
    )
    .await
}
