//! One deadline's event brought in line with the case, under the calendar's lease. Each
//! step re-reads what it decides on and re-plans, so a race (a lost insert answer, a 412, an
//! event deleted under us) settles in a few steps without ping-pong.
//!
//! Before every write, what it will write is recorded on the link (`pending_*`): if its
//! answer never comes back (a worker killed mid-request, a timeout), the echo of the write is
//! still recognised as calsync's own by the inbound sync. A 412 means Google holds a version
//! calsync has not seen: the push runs an inbound sync of the calendar (under the lease it
//! holds), which applies the conflict rule, then decides again from the case as it is now.

use std::collections::HashMap;

use chrono::NaiveDate;
use uuid::Uuid;

use super::event_body::{changes, new_event, summary_with};
use super::pacing::Cost;
use super::plan::{Action, Wanted, plan};
use super::push::{PushContext, PushError, PushReport};
use crate::account::{AccountError, UserSession};
use crate::db::models::case::{self, Case};
use crate::db::models::case_deadline::{self, Revision};
use crate::db::models::case_event_link::{self as links, CaseEventLink, NewCaseEventLink};
use crate::db::{Db, DbError};
use crate::domain::{DeadlineKind, EventMarker};
use crate::google::{Event, GoogleError};
use crate::ids::{CaseId, UserId};
use crate::inbound;
use crate::lease::CalendarLease;

/// Steps one deadline may take in a run before it is left for the next run.
const MAX_STEPS: usize = 4;

/// The case as the push decides on it: its row and each deadline's revision, read in one
/// snapshot (a value and the revision it came from always belong together).
pub struct CaseState {
    /// `None` when the case was hard-deleted.
    case: Option<Case>,
    revisions: HashMap<DeadlineKind, Revision>,
}

impl CaseState {
    pub async fn read(db: &Db, case_id: CaseId) -> Result<Self, PushError> {
        Ok(db
            .run(move |conn| {
                conn.build_transaction()
                    .repeatable_read()
                    .read_only()
                    .run(|conn| {
                        let case = case::find(conn, case_id)?;
                        let mut revisions = HashMap::new();
                        for kind in DeadlineKind::ALL {
                            revisions.insert(kind, case_deadline::revision(conn, case_id, kind)?);
                        }
                        Ok::<_, diesel::result::Error>(Self { case, revisions })
                    })
                    .map_err(DbError::from)
            })
            .await?)
    }

    fn tracker_rev(&self, kind: DeadlineKind) -> i64 {
        self.revisions.get(&kind).map_or(0, |r| r.tracker_rev)
    }
}

/// Which deadline, of which case, on which calendar, under which lease.
pub struct DeadlinePush<'a> {
    pub ctx: &'a PushContext,
    pub lease: &'a CalendarLease,
    pub calendar: &'a str,
    pub user_id: UserId,
    pub case_id: CaseId,
    pub kind: DeadlineKind,
}

enum Step {
    Settled,
    /// Decide again from the link as it is now.
    Replan,
    /// An inbound sync may have changed the case: read it again, then decide.
    Reread,
}

/// What the event should be: date and title, and the tracker revision the date came from.
struct Target {
    date: NaiveDate,
    summary: String,
    tracker_rev: i64,
}

pub async fn push_deadline(
    job: &DeadlinePush<'_>,
    session: &mut UserSession,
    state: &mut CaseState,
    report: &mut PushReport,
) -> Result<(), PushError> {
    for _ in 0..MAX_STEPS {
        let target = state
            .case
            .as_ref()
            .filter(|c| c.user_id == job.user_id && c.is_open())
            .and_then(|c| {
                c.deadline(job.kind).map(|date| Target {
                    date,
                    summary: summary_with(&job.ctx.style, job.kind, c),
                    tracker_rev: state.tracker_rev(job.kind),
                })
            });
        let wanted = target.as_ref().map(|t| Wanted {
            date: t.date,
            summary: &t.summary,
        });
        let link = job.link().await?;
        let step = match (plan(wanted.as_ref(), link.as_ref()), &target, link) {
            (Action::Nothing, _, _) => Step::Settled,
            (Action::Insert { generation }, Some(t), link) => {
                job.insert(session, generation, link, t, report).await?
            }
            (Action::Patch, Some(t), Some(link)) => job.patch(session, &link, t, report).await?,
            (Action::Delete, _, Some(link)) => job.delete(session, &link, report).await?,
            _ => Step::Settled, // the plan never asks to write without a deadline or a link
        };
        match step {
            Step::Settled => return Ok(()),
            Step::Replan => {}
            Step::Reread => *state = CaseState::read(job.ctx.db(), job.case_id).await?,
        }
    }
    Err(PushError::Unsettled(job.kind))
}

impl DeadlinePush<'_> {
    fn marker(&self) -> EventMarker {
        EventMarker {
            case_id: self.case_id,
            kind: self.kind,
        }
    }

    async fn pace(&self, cost: Cost) {
        self.ctx.pacer.acquire(self.user_id, cost).await;
    }

    async fn link(&self) -> Result<Option<CaseEventLink>, PushError> {
        let (case_id, kind, calendar) = (self.case_id, self.kind, self.calendar.to_owned());
        self.db(move |conn| links::find_for_deadline(conn, case_id, kind, &calendar))
            .await
    }

    /// Inserts this generation's event; a 409 means the id is taken: by our own earlier
    /// insert whose answer was lost (adopted), by a tombstone, or by an event that is not
    /// ours (either way the id is burnt and the next generation's used).
    async fn insert(
        &self,
        session: &mut UserSession,
        generation: i32,
        link: Option<CaseEventLink>,
        target: &Target,
        report: &mut PushReport,
    ) -> Result<Step, PushError> {
        let event_id = self
            .marker()
            .event_id(u32::try_from(generation).unwrap_or(0));
        let link_id = self.prepare_link(link, generation, &event_id).await?;
        self.set_pending(link_id, target).await?;
        let body = new_event(
            &self.ctx.style,
            self.marker(),
            &event_id,
            target.date,
            &target.summary,
        );
        self.pace(Cost::Call).await;
        match session.insert_event(self.calendar, &body).await {
            Ok(created) => {
                self.record(link_id, &created, target).await?;
                report.inserted += 1;
                Ok(Step::Settled)
            }
            Err(AccountError::Google(GoogleError::Duplicate)) => {
                self.pace(Cost::Call).await;
                let existing = session.get_event(self.calendar, &event_id).await?;
                if existing.is_cancelled() || !self.names_this_deadline(&existing) {
                    let next = self
                        .marker()
                        .event_id(u32::try_from(generation + 1).unwrap_or(0));
                    self.db(move |conn| {
                        links::start_generation(conn, link_id, generation + 1, &next)
                    })
                    .await?;
                    return Ok(Step::Replan);
                }
                let current = if existing.date() == Some(target.date)
                    && existing.summary.as_deref() == Some(target.summary.as_str())
                {
                    existing
                } else {
                    self.pace(Cost::Patch).await;
                    session
                        .patch_event(
                            self.calendar,
                            &event_id,
                            &changes(&self.ctx.style, self.marker(), target.date, &target.summary),
                            existing.etag.as_deref(),
                        )
                        .await?
                };
                self.record(link_id, &current, target).await?;
                report.adopted += 1;
                Ok(Step::Settled)
            }
            Err(e) => Err(self.failed(link_id, e).await),
        }
    }

    /// Whether an event carries calsync's marker for this very case and deadline.
    fn names_this_deadline(&self, event: &Event) -> bool {
        event
            .extended_properties
            .as_ref()
            .and_then(|p| p.private.as_ref())
            .and_then(EventMarker::from_properties)
            == Some(self.marker())
    }

    /// Patches date and title on the stored etag. A 412 means Google holds a version not
    /// seen yet: the calendar is synced inbound first (the conflict rule decides there), then
    /// the deadline is decided again.
    async fn patch(
        &self,
        session: &mut UserSession,
        link: &CaseEventLink,
        target: &Target,
        report: &mut PushReport,
    ) -> Result<Step, PushError> {
        self.set_pending(link.id, target).await?;
        self.pace(Cost::Patch).await;
        match session
            .patch_event(
                self.calendar,
                &link.google_event_id,
                &changes(&self.ctx.style, self.marker(), target.date, &target.summary),
                link.etag.as_deref(),
            )
            .await
        {
            Ok(updated) => {
                self.record(link.id, &updated, target).await?;
                report.patched += 1;
                Ok(Step::Settled)
            }
            Err(AccountError::Google(GoogleError::PreconditionFailed)) => {
                self.clear_pending(link.id).await?;
                inbound::sync_under(&self.ctx.sync, self.lease)
                    .await
                    .map_err(|e| match e {
                        inbound::SyncError::Account(a) => PushError::Account(a),
                        other => PushError::Inbound(Box::new(other)),
                    })?;
                report.synced_first += 1;
                Ok(Step::Reread)
            }
            Err(AccountError::Google(
                GoogleError::NotFound | GoogleError::AlreadyDeleted | GoogleError::Forbidden { .. },
            )) => {
                self.clear_pending(link.id).await?;
                // Deleted in Google before the inbound sync told us (writes to a deleted
                // event are refused): treat it as the user's dismissal.
                self.pace(Cost::Call).await;
                match session
                    .get_event(self.calendar, &link.google_event_id)
                    .await
                {
                    Ok(e) if !e.is_cancelled() => Err(GoogleError::Forbidden {
                        reason: "event is live but refuses the write".into(),
                    }
                    .into()),
                    Ok(_) | Err(AccountError::Google(GoogleError::NotFound)) => {
                        self.dismiss(link.id).await?;
                        Ok(Step::Replan)
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(self.failed(link.id, e).await),
        }
    }

    async fn delete(
        &self,
        session: &mut UserSession,
        link: &CaseEventLink,
        report: &mut PushReport,
    ) -> Result<Step, PushError> {
        self.pace(Cost::Call).await;
        match session
            .delete_event(self.calendar, &link.google_event_id, None)
            .await
        {
            Ok(()) => report.deleted += 1,
            Err(AccountError::Google(GoogleError::NotFound | GoogleError::AlreadyDeleted)) => {}
            Err(e) => return Err(e.into()),
        }
        let link_id = link.id;
        self.db(move |conn| links::mark_removed(conn, link_id))
            .await?;
        Ok(Step::Settled)
    }

    /// The link row for this insert: created, or moved to `generation`'s id.
    async fn prepare_link(
        &self,
        link: Option<CaseEventLink>,
        generation: i32,
        event_id: &str,
    ) -> Result<Uuid, PushError> {
        let (case_id, user_id, kind, calendar, event_id) = (
            self.case_id,
            self.user_id,
            self.kind,
            self.calendar.to_owned(),
            event_id.to_owned(),
        );
        self.db(move |conn| match link {
            Some(l) if l.google_event_id == event_id && !l.dismissed && !l.removed => Ok(l.id),
            Some(l) => links::start_generation(conn, l.id, generation, &event_id).map(|_| l.id),
            None => links::insert(
                conn,
                &NewCaseEventLink {
                    case_id,
                    user_id,
                    deadline_kind: kind.column(),
                    calendar_id: &calendar,
                    google_event_id: &event_id,
                    generation,
                    etag: None,
                    synced_date: None,
                },
            )
            .map(|l| l.id),
        })
        .await
    }

    /// Records what is about to be written, before the request goes out.
    async fn set_pending(&self, link_id: Uuid, target: &Target) -> Result<(), PushError> {
        let (date, title, rev) = (target.date, target.summary.clone(), target.tracker_rev);
        self.db(move |conn| links::set_pending(conn, link_id, date, &title, rev))
            .await?;
        Ok(())
    }

    async fn clear_pending(&self, link_id: Uuid) -> Result<(), PushError> {
        self.db(move |conn| links::clear_pending(conn, link_id))
            .await?;
        Ok(())
    }

    /// A write failed: a refusal (4xx) means it never reached the event, so the pending
    /// record goes; after a transport error or a 5xx the write may have gone through, and
    /// the pending record stays for the inbound sync to recognise its echo.
    async fn failed(&self, link_id: Uuid, error: AccountError) -> PushError {
        let refused = matches!(
            &error,
            AccountError::Google(
                GoogleError::Rejected { .. }
                    | GoogleError::Forbidden { .. }
                    | GoogleError::RateLimited { .. }
                    | GoogleError::NotFound
            )
        );
        if refused && let Err(e) = self.clear_pending(link_id).await {
            log::warn!("could not clear the pending write of link {link_id}: {e}");
        }
        error.into()
    }

    /// Stores the etag Google returned (so the inbound sync knows the echo), date, title and
    /// the tracker revision written; nothing is pending any more.
    async fn record(&self, link_id: Uuid, event: &Event, target: &Target) -> Result<(), PushError> {
        let etag = event.etag.clone().unwrap_or_default();
        let (date, title, rev) = (target.date, target.summary.clone(), target.tracker_rev);
        self.db(move |conn| links::record_push(conn, link_id, &etag, date, &title, rev))
            .await?;
        Ok(())
    }

    async fn dismiss(&self, link_id: Uuid) -> Result<(), PushError> {
        self.db(move |conn| links::set_dismissed(conn, link_id, true))
            .await?;
        Ok(())
    }

    async fn db<T, F>(&self, f: F) -> Result<T, PushError>
    where
        F: FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        Ok(self
            .ctx
            .db()
            .run(move |conn| Ok::<_, DbError>(f(conn)?))
            .await?)
    }
}
