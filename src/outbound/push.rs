//! Draining one user's outbox to Google: for each waiting case, every deadline's event is
//! brought in line with the case (insert, patch with If-Match, or delete), and the case's
//! outbox rows are removed only once all of that succeeded.

use std::time::Duration;

use super::deadline::{DeadlinePush, push_deadline};
use super::pacing::{Cost, Pacer};
use crate::crypto::CryptoError;
use crate::db::models::calendar_channel::{self, ChannelStatus};
use crate::db::models::outbox::{self, PendingCase};
use crate::db::models::{case, case_event_link, google_credential};
use crate::db::{Db, DbError};
use crate::domain::DeadlineKind;
use crate::google::session::SessionError;
use crate::google::{GoogleError, UserSession};
use crate::ids::{CaseId, UserId};
use crate::sync::SyncContext;
use crate::sync::fetch::backoff;

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
    #[error("the user's Google grant is revoked; the outbox waits for reconnection")]
    GrantRevoked,
    #[error("the user has no Google credentials; the outbox waits for them")]
    NoCredentials,
    #[error(transparent)]
    Google(GoogleError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("{0} did not settle within one run (it kept changing under us)")]
    Unsettled(DeadlineKind),
}

impl From<diesel::result::Error> for PushError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

impl From<SessionError> for PushError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Google(GoogleError::GrantRevoked) => Self::GrantRevoked,
            SessionError::Google(g) => Self::Google(g),
            SessionError::NoCredentials(_) => Self::NoCredentials,
            SessionError::Db(d) => Self::Db(d),
            SessionError::Crypto(c) => Self::Crypto(c),
        }
    }
}

impl PushError {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Google(g) => g.is_retryable(),
            Self::Db(_) | Self::Unsettled(_) => true,
            Self::GrantRevoked | Self::NoCredentials | Self::Crypto(_) => false,
        }
    }
}

/// How long a push holds a case it claimed; a push that dies leaves the case to another after
/// this. Far above what one case takes (at most nine deadlines, a few requests each).
const CASE_LEASE: Duration = Duration::from_secs(120);

/// Pushes up to `batch` of a user's waiting cases, claiming them one at a time, so
/// concurrent pushes for the same user share the work and never take the same case.
pub async fn push_user(
    ctx: &SyncContext,
    pacer: &Pacer,
    user_id: UserId,
    batch: i64,
) -> Result<PushOutcome, PushError> {
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
    for _ in 0..batch {
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
            pacer,
            &mut session,
            calendar.as_deref(),
            user_id,
            &case,
            &mut report,
        )
        .await
        {
            record_failure(&ctx.db, user_id, case.case_id, &e).await;
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
    ctx: &SyncContext,
    pacer: &Pacer,
    session: &mut UserSession,
    calendar: Option<&str>,
    user_id: UserId,
    pending: &PendingCase,
    report: &mut PushReport,
) -> Result<(), PushError> {
    for orphan in pending.orphaned_events() {
        pacer.acquire(user_id, Cost::Call).await;
        match session
            .delete_event(&orphan.calendar_id, &orphan.event_id, None)
            .await
        {
            Ok(()) => report.deleted += 1,
            Err(SessionError::Google(GoogleError::NotFound | GoogleError::AlreadyDeleted)) => {}
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
        pacer.acquire(user_id, Cost::Call).await;
        match session
            .delete_event(&link.calendar_id, &link.google_event_id, None)
            .await
        {
            Ok(()) => report.deleted += 1,
            Err(SessionError::Google(GoogleError::NotFound | GoogleError::AlreadyDeleted)) => {}
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
            pacer,
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

/// Longest back-off of a failed case (rate limits with Retry-After excepted).
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Keeps the outbox rows and says when to try again: a revoked grant parks the user's
/// channels (their rows wait for reconnection); a retryable failure backs the rows off,
/// exponentially in the failed case's attempts (as Google asks), or as Retry-After says.
async fn record_failure(db: &Db, user_id: UserId, case_id: CaseId, error: &PushError) {
    let reauth = matches!(error, PushError::GrantRevoked | PushError::NoCredentials);
    let revoked = matches!(error, PushError::GrantRevoked);
    let retry_after = match error {
        PushError::Google(GoogleError::RateLimited {
            retry_after: Some(d),
        }) => Some(*d),
        _ => None,
    };
    let retryable = error.is_retryable();
    let result = db
        .run(move |conn| {
            if revoked {
                google_credential::mark_revoked(conn, user_id)?;
            }
            if reauth {
                calendar_channel::mark_user_needs_reauth(conn, user_id)?;
            }
            if retryable {
                let attempts = outbox::attempts(conn, user_id, case_id)?;
                let delay = retry_after.unwrap_or_else(|| {
                    backoff(
                        Duration::from_secs(1),
                        u32::try_from(attempts).unwrap_or(0) + 1,
                    )
                    .clamp(Duration::from_millis(200), MAX_BACKOFF)
                });
                outbox::defer(conn, user_id, Some(case_id), delay)?;
            }
            Ok::<_, DbError>(())
        })
        .await;
    if let Err(e) = result {
        log::warn!("could not record the failed push for user {user_id}: {e}");
    }
}
