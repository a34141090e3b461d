//! Draining one user's outbox to Google: for each waiting case, every deadline's event is
//! brought in line with the case (insert, patch with If-Match, or delete), and the case's
//! outbox rows are removed only once all of that succeeded.

use std::time::{Duration, Instant};

use super::deadline::{CaseState, DeadlinePush, push_deadline};
use super::pacing::{Cost, Pacer};
use crate::account::{AccountError, UserSession, reauth};
use crate::db::models::calendar_channel::{self, CalendarChannel, ChannelStatus};
use crate::db::models::case_event_link;
use crate::db::models::outbox::{self, PendingCase};
use crate::db::{Db, DbError};
use crate::domain::DeadlineKind;
use crate::google::GoogleError;
use crate::ids::{CaseId, UserId};
use crate::inbound::SyncContext;
use crate::lease::{self, CalendarLease, Taken};
use crate::retry::{Classify, Decision, Failure, Work};

/// What a push run needs: the inbound side too (a 412 runs an inbound sync of the calendar
/// under the push's lease before the push decides again).
#[derive(Clone)]
pub struct PushContext {
    pub sync: SyncContext,
    /// Paces each user's Google requests (shared by every push of the process).
    pub pacer: Pacer,
    /// Cases one push run takes for a user; the rest wait for the next run.
    pub batch_cases: i64,
    /// What the events look like (title, link, reminders, colour).
    pub style: std::sync::Arc<crate::config::EventStyle>,
}

impl PushContext {
    pub(super) fn db(&self) -> &Db {
        &self.sync.db
    }
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
    /// Writes refused with 412 (the event changed at Google since calsync's version): the
    /// calendar was synced inbound, then the deadline decided again.
    pub synced_first: usize,
    /// The run took as many cases as one run may; more may be waiting.
    pub more_pending: bool,
}

/// How a push run ended without error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    Pushed(PushReport),
    /// The user must reconnect Google, or their calendar is held (a sync would have
    /// dismissed most of it); the outbox waits.
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
    /// The inbound sync a 412 called for failed (other than at Google or the database).
    #[error("the inbound sync before re-deciding failed: {0}")]
    Inbound(Box<crate::inbound::SyncError>),
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
            Self::Inbound(e) => e.classify(),
        }
    }
}

/// How long the push waits in-process for the calendar's lease before it postpones the case
/// (an inbound sync of the calendar is running, or waiting to run first).
const LEASE_WAIT: Duration = Duration::from_secs(3);

/// Pushes up to `batch_cases` of a user's waiting cases, claiming them one at a time, so
/// concurrent pushes for the same user share the work and never take the same case. Each
/// case is pushed under the calendar's lease: no inbound sync of that calendar decides
/// while the push reads, decides and writes.
pub async fn push_user(ctx: &PushContext, user_id: UserId) -> Result<PushOutcome, PushError> {
    let target = ctx
        .db()
        .run(move |conn| Ok::<_, DbError>(calendar_channel::push_target(conn, user_id)?))
        .await?;
    // Without an active calendar, the cases' events left on calendars are still removed.
    let target = match target {
        Some(c) if c.status == ChannelStatus::Active => Some(c),
        Some(c)
            if matches!(
                c.status,
                ChannelStatus::NeedsReauth | ChannelStatus::Held | ChannelStatus::Paused
            ) =>
        {
            return Ok(PushOutcome::Deferred);
        }
        _ => None,
    };
    let claim_ttl = ctx.sync.settings.lease_ttl;
    let mut report = PushReport::default();
    let mut session = ctx.sync.google.session(user_id);
    for _ in 0..ctx.batch_cases {
        let Some(case) = ctx
            .db()
            .run(move |conn| Ok::<_, DbError>(outbox::claim_next_case(conn, user_id, claim_ttl)?))
            .await?
        else {
            return Ok(match target {
                Some(_) => PushOutcome::Pushed(report),
                None => PushOutcome::NoCalendar,
            });
        };
        let claim = ClaimKeeper::start(ctx.db().clone(), user_id, case.case_id, claim_ttl);
        let lease = match &target {
            Some(channel) => match wait_for_lease(ctx, channel).await? {
                Some(lease) => Some(lease),
                None => {
                    // Its turn comes after the inbound sync: no attempt is counted.
                    let (case_id, delay) = (case.case_id, ctx.sync.retry.defer);
                    claim.stop();
                    ctx.db()
                        .run(move |conn| {
                            Ok::<_, DbError>(outbox::postpone(conn, user_id, case_id, delay)?)
                        })
                        .await?;
                    report.more_pending = true;
                    return Ok(PushOutcome::Pushed(report));
                }
            },
            None => None,
        };
        let calendar = target.as_ref().map(|c| c.calendar_id.as_str());
        let result = push_case(
            ctx,
            &mut session,
            calendar.zip(lease.as_ref()),
            user_id,
            &case,
            &mut report,
        )
        .await;
        if let Some(lease) = lease {
            lease.release().await;
        }
        claim.stop();
        if let Err(e) = result {
            record_failure(ctx, user_id, case.case_id, &e).await;
            return Err(e);
        }
        let (case_id, last_id) = (case.case_id, case.last_id);
        ctx.db()
            .run(move |conn| Ok::<_, DbError>(outbox::complete(conn, user_id, case_id, last_id)?))
            .await?;
        report.cases += 1;
    }
    report.more_pending = true;
    if target.is_none() {
        return Ok(PushOutcome::NoCalendar);
    }
    Ok(PushOutcome::Pushed(report))
}

/// The calendar's lease for a push, waiting up to `LEASE_WAIT` for a sync to finish; `None`
/// when it stayed busy (or the channel stopped meanwhile).
async fn wait_for_lease(
    ctx: &PushContext,
    channel: &CalendarChannel,
) -> Result<Option<CalendarLease>, PushError> {
    let give_up = Instant::now() + LEASE_WAIT;
    loop {
        match lease::take_for_push(ctx.db(), channel.id, ctx.sync.settings.lease_ttl).await? {
            Taken::Held(lease, _) => return Ok(Some(lease)),
            Taken::Inactive(_) | Taken::Unknown => return Ok(None),
            Taken::Busy if Instant::now() >= give_up => return Ok(None),
            Taken::Busy => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Keeps a case's outbox claim alive while its push runs, so a push that dies frees the case
/// within one claim lifetime (`SYNC_LEASE_SECS`) rather than holding it for long.
struct ClaimKeeper(tokio::task::JoinHandle<()>);

impl ClaimKeeper {
    fn start(db: Db, user_id: UserId, case_id: CaseId, ttl: Duration) -> Self {
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                let renewed = db
                    .run(move |conn| {
                        Ok::<_, DbError>(outbox::postpone(conn, user_id, case_id, ttl)?)
                    })
                    .await;
                if let Err(e) = renewed {
                    log::warn!("renewing the push claim of case {case_id} failed: {e}");
                }
            }
        }))
    }

    fn stop(self) {}
}

impl Drop for ClaimKeeper {
    /// Also when the push is cancelled mid-case: the claim then lapses within its lifetime.
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn push_case(
    ctx: &PushContext,
    session: &mut UserSession,
    target: Option<(&str, &CalendarLease)>,
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
    let target_calendar = target.map(|(c, _)| c.to_owned());
    let elsewhere = ctx
        .db()
        .run(move |conn| {
            Ok::<_, DbError>(
                case_event_link::list_for_case(conn, case_id)?
                    .into_iter()
                    .filter(|l| Some(&l.calendar_id) != target_calendar.as_ref())
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
        ctx.db()
            .run(move |conn| Ok::<_, DbError>(case_event_link::mark_removed(conn, link_id)?))
            .await?;
    }
    let Some((calendar, lease)) = target else {
        return Ok(());
    };
    let mut state = CaseState::read(ctx.db(), case_id).await?;
    for kind in DeadlineKind::ALL {
        let job = DeadlinePush {
            ctx,
            lease,
            calendar,
            user_id,
            case_id,
            kind,
        };
        push_deadline(&job, session, &mut state, report).await?;
    }
    Ok(())
}

/// Keeps the outbox rows and says, as the retry policy decides, when to try again: a
/// revoked grant parks the user (their rows wait for reconnection); anything else backs the
/// case's rows off, by the failed case's own attempts (as Google asks), by Retry-After, or
/// to the policy's cap for a write Google refuses outright (the rows are never dropped: they
/// are the only record of the tracker's change).
async fn record_failure(ctx: &PushContext, user_id: UserId, case_id: CaseId, error: &PushError) {
    let (failure, retry) = (error.classify(), ctx.sync.retry.clone());
    let result = ctx
        .db()
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
