//! Draining one user's outbox to Google: for each waiting case, every deadline's event is
//! brought in line with the case (insert, patch with If-Match, or delete), and the case's
//! outbox rows are removed only once all of that succeeded.

use std::time::Duration;

use super::deadline::{DeadlinePush, push_deadline};
use super::pacing::{Cost, Pacer};
use crate::account::{AccountError, GoogleAccounts, UserSession, reauth};
use crate::db::models::calendar_channel::{self, ChannelStatus};
use crate::db::models::outbox::{self, PendingCase};
use crate::db::models::{case, case_event_link};
use crate::db::{Db, DbError};
use crate::domain::DeadlineKind;
use crate::google::GoogleError;
use crate::ids::{CaseId, UserId};
use crate::retry::{Classify, Decision, Failure, RetryPolicy, Work};

/// What a push run needs.
#[derive(Clone)]
pub struct PushContext {
    pub db: Db,
    pub google: GoogleAccounts,
    /// Paces each user's Google requests (shared by every push of the process).
    pub pacer: Pacer,
    /// Cases one push run takes for a user; the rest wait for the next run.
    pub batch_cases: i64,
    pub retry: RetryPolicy,
}

/// What a push run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    pub cases: usize,
    pub inserted: usize,
    pub patched: usize,
    pub deleted: usize,
    /// Inserts that found the event already there (an earlier answer was lost).
    pub adopted: usize,
    /// 412 races that Google's later edit won (its date went to the case instead).
    pub google_won: usize,
    /// The run took as many cases as one run may; more may be waiting.
    pub more_pending: bool,
}

/// How a push run ended without error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    Pushed(PushReport),
    /// The user must reconnect Google; the outbox waits.
    Deferred,
    /// The user watches no calendar (or it is gone): the cases' events left on calendars
    /// were removed; nothing is inserted.
    NoCalendar,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("{0} did not settle within one run (it kept changing under us)")]
    Unsettled(DeadlineKind),
}

impl From<DbError> for PushError {
    fn from(e: DbError) -> Self {
        Self::Account(AccountError::Db(e))
    }
}

impl From<diesel::result::Error> for PushError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Account(e.into())
    }
}

impl From<GoogleError> for PushError {
    fn from(e: GoogleError) -> Self {
        Self::Account(e.into())
    }
}

impl Classify for PushError {
    fn classify(&self) -> Failure {
        match self {
            Self::Account(a) => a.classify(),
            Self::Unsettled(_) => Failure::Transient,
        }
    }
}

/// How long a push holds a case it claimed; a push that dies leaves the case to another after
/// this. Far above what one case takes (at most nine deadlines, a few requests each).
const CASE_LEASE: Duration = Duration::from_secs(120);

/// Pushes up to `batch` of a user's waiting cases, claiming them one at a time, so
/// concurrent pushes for the same user share the work and never take the same case.
pub async fn push_user(ctx: &PushContext, user_id: UserId) -> Result<PushOutcome, PushError> {
    let target = ctx
        .db
        .run(move |conn| Ok::<_, DbError>(calendar_channel::push_target(conn, user_id)?))
        .await?;
    // Without an active calendar, the cases' events left on calendars are still removed.
    let calendar = match target {
        Some(c) if c.status == ChannelStatus::Active => Some(c.calendar_id),
        Some(c) if c.status == ChannelStatus::NeedsReauth => return Ok(PushOutcome::Deferred),
        _ => None,
    };
    let mut report = PushReport::default();
    let mut session = ctx.google.session(user_id);
    for _ in 0..ctx.batch_cases {
        let Some(case) = ctx
            .db
            .run(move |conn| Ok::<_, DbError>(outbox::claim_next_case(conn, user_id, CASE_LEASE)?))
            .await?
        else {
            return Ok(match calendar {
                Some(_) => PushOutcome::Pushed(report),
                None => PushOutcome::NoCalendar,
            });
        };
        if let Err(e) = push_case(
            ctx,
            &mut session,
            calendar.as_deref(),
            user_id,
            &case,
            &mut report,
        )
        .await
        {
            record_failure(ctx, user_id, case.case_id, &e).await;
            return Err(e);
        }
        let (case_id, last_id) = (case.case_id, case.last_id);
        ctx.db
            .run(move |conn| Ok::<_, DbError>(outbox::complete(conn, user_id, case_id, last_id)?))
            .await?;
        report.cases += 1;
    }
    report.more_pending = true;
    if calendar.is_none() {
        return Ok(PushOutcome::NoCalendar);
    }
    Ok(PushOutcome::Pushed(report))
}

async fn push_case(
    ctx: &PushContext,
    session: &mut UserSession,
    calendar: Option<&str>,
    user_id: UserId,
    pending: &PendingCase,
    report: &mut PushReport,
) -> Result<(), PushError> {
    for orphan in pending.orphaned_events() {
        ctx.pacer.acquire(user_id, Cost::Call).await;
        match session
            .delete_event(&orphan.calendar_id, &orphan.event_id, None)
            .await
        {
            Ok(()) => report.deleted += 1,
            Err(AccountError::Google(GoogleError::NotFound | GoogleError::AlreadyDeleted)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let case_id = pending.case_id;
    // Events on a calendar that is no longer the target (its channel was stopped, or
    // another calendar is watched now) go.
    let target = calendar.map(str::to_owned);
    let elsewhere = ctx
        .db
        .run(move |conn| {
            Ok::<_, DbError>(
                case_event_link::list_for_case(conn, case_id)?
                    .into_iter()
                    .filter(|l| Some(&l.calendar_id) != target.as_ref())
                    .filter(|l| l.user_id == user_id && !l.removed && !l.dismissed)
                    .collect::<Vec<_>>(),
            )
        })
        .await?;
    for link in elsewhere {
        ctx.pacer.acquire(user_id, Cost::Call).await;
        match session
            .delete_event(&link.calendar_id, &link.google_event_id, None)
            .await
        {
            Ok(()) => report.deleted += 1,
            Err(AccountError::Google(GoogleError::NotFound | GoogleError::AlreadyDeleted)) => {}
            Err(e) => return Err(e.into()),
        }
        let link_id = link.id;
        ctx.db
            .run(move |conn| Ok::<_, DbError>(case_event_link::mark_removed(conn, link_id)?))
            .await?;
    }
    let Some(calendar) = calendar else {
        return Ok(());
    };
    let case = ctx
        .db
        .run(move |conn| Ok::<_, DbError>(case::find(conn, case_id)?))
        .await?;
    for kind in DeadlineKind::ALL {
        let job = DeadlinePush {
            ctx,
            calendar,
            user_id,
            case_id,
            case: case.as_ref(),
            kind,
        };
        push_deadline(&job, session, report).await?;
    }
    Ok(())
}

/// Keeps the outbox rows and says, as the retry policy decides, when to try again: a
/// revoked grant parks the user (their rows wait for reconnection); anything else backs the
/// case's rows off, by the failed case's own attempts (as Google asks), by Retry-After, or
/// to the policy's cap for a write Google refuses outright (the rows are never dropped: they
/// are the only record of the tracker's change).
async fn record_failure(ctx: &PushContext, user_id: UserId, case_id: CaseId, error: &PushError) {
    let (failure, retry) = (error.classify(), ctx.retry.clone());
    let result = ctx
        .db
        .run(move |conn| {
            let attempts = outbox::attempts(conn, user_id, case_id)?;
            let attempt = u32::try_from(attempts).unwrap_or(0).saturating_add(1);
            match retry.decide(Work::OutboxCase, failure, attempt) {
                Decision::Park(why) => reauth::park_user(conn, user_id, why)?,
                Decision::Requeue(delay) | Decision::Defer(delay) => {
                    outbox::defer(conn, user_id, Some(case_id), delay)?;
                }
                Decision::RetryNow(_) | Decision::Drop => {
                    outbox::defer(conn, user_id, Some(case_id), retry.cap)?;
                }
            }
            Ok::<_, DbError>(())
        })
        .await;
    if let Err(e) = result {
        log::warn!("could not record the failed push for user {user_id}: {e}");
    }
}
