//! One deadline's event brought in line with the case. Each step re-reads the link and
//! re-plans, so a race (a lost insert answer, a 412, an event deleted under us) settles in a
//! few steps without ping-pong.

use chrono::NaiveDate;
use diesel::Connection;
use uuid::Uuid;

use super::event_body::{changes, new_event, summary};
use super::pacing::Cost;
use super::plan::{Action, Wanted, plan};
use super::push::{PushContext, PushError, PushReport};
use crate::account::{AccountError, UserSession};
use crate::db::DbError;
use crate::db::models::case::Case;
use crate::db::models::case_deadline;
use crate::db::models::case_event_link::{self as links, CaseEventLink, NewCaseEventLink};
use crate::db::models::sync_audit::{self, AuditOutcome, NewAuditEntry};
use crate::domain::{DeadlineKind, EventMarker, tracker_wins};
use crate::google::{Event, GoogleError};
use crate::ids::{CaseId, UserId};
use crate::inbound::apply_events;

/// Steps one deadline may take in a run before it is left for the next run.
const MAX_STEPS: usize = 4;

/// Which deadline, of which case, on which calendar.
pub struct DeadlinePush<'a> {
    pub ctx: &'a PushContext,
    pub calendar: &'a str,
    pub user_id: UserId,
    pub case_id: CaseId,
    /// `None` when the case was hard-deleted.
    pub case: Option<&'a Case>,
    pub kind: DeadlineKind,
}

enum Step {
    Settled,
    Replan,
    /// The case itself changed (Google's later edit was applied to it): what the event
    /// should say must be read again, or the run would write the case's old value back.
    CaseChanged,
}

pub async fn push_deadline(
    job: &DeadlinePush<'_>,
    session: &mut UserSession,
    report: &mut PushReport,
) -> Result<(), PushError> {
    let mut case = job.case.cloned();
    for _ in 0..MAX_STEPS {
        let title = case
            .as_ref()
            .map(|c| summary(job.kind, c))
            .unwrap_or_default();
        let wanted = case
            .as_ref()
            .filter(|c| c.user_id == job.user_id && c.is_open())
            .and_then(|c| c.deadline(job.kind))
            .map(|date| Wanted {
                date,
                summary: &title,
            });
        let link = job.link().await?;
        let step = match (plan(wanted.as_ref(), link.as_ref()), &wanted, link) {
            (Action::Nothing, _, _) => Step::Settled,
            (Action::Insert { generation }, Some(w), link) => {
                job.insert(session, generation, link, w, report).await?
            }
            (Action::Patch, Some(w), Some(link)) => job.patch(session, &link, w, report).await?,
            (Action::Delete, _, Some(link)) => job.delete(session, &link, report).await?,
            _ => Step::Settled, // the plan never asks to write without a deadline or a link
        };
        match step {
            Step::Settled => return Ok(()),
            Step::Replan => {}
            Step::CaseChanged => case = job.reload_case().await?,
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

    async fn reload_case(&self) -> Result<Option<Case>, PushError> {
        let case_id = self.case_id;
        self.db(move |conn| crate::db::models::case::find(conn, case_id))
            .await
    }

    async fn link(&self) -> Result<Option<CaseEventLink>, PushError> {
        let (case_id, kind, calendar) = (self.case_id, self.kind, self.calendar.to_owned());
        Ok(self
            .ctx
            .db
            .run(move |conn| {
                Ok::<_, DbError>(links::find_for_deadline(conn, case_id, kind, &calendar)?)
            })
            .await?)
    }

    /// Inserts this generation's event; a 409 means it exists already (an earlier answer was
    /// lost) and it is adopted, unless it is a tombstone, whose id is then burnt.
    async fn insert(
        &self,
        session: &mut UserSession,
        generation: i32,
        link: Option<CaseEventLink>,
        wanted: &Wanted<'_>,
        report: &mut PushReport,
    ) -> Result<Step, PushError> {
        let event_id = self
            .marker()
            .event_id(u32::try_from(generation).unwrap_or(0));
        let link_id = self.prepare_link(link, generation, &event_id).await?;
        let body = new_event(self.marker(), &event_id, wanted.date, wanted.summary);
        self.pace(Cost::Call).await;
        match session.insert_event(self.calendar, &body).await {
            Ok(created) => {
                self.record(link_id, &created, wanted).await?;
                report.inserted += 1;
                Ok(Step::Settled)
            }
            Err(AccountError::Google(GoogleError::Duplicate)) => {
                self.pace(Cost::Call).await;
                let existing = session.get_event(self.calendar, &event_id).await?;
                if existing.is_cancelled() {
                    let next = self
                        .marker()
                        .event_id(u32::try_from(generation + 1).unwrap_or(0));
                    self.db(move |conn| {
                        links::start_generation(conn, link_id, generation + 1, &next)
                    })
                    .await?;
                    return Ok(Step::Replan);
                }
                let current = if existing.date() == Some(wanted.date)
                    && existing.summary.as_deref() == Some(wanted.summary)
                {
                    existing
                } else {
                    let etag = existing.etag.clone();
                    self.pace(Cost::Patch).await;
                    session
                        .patch_event(
                            self.calendar,
                            &event_id,
                            &changes(wanted.date, wanted.summary),
                            etag.as_deref(),
                        )
                        .await?
                };
                self.record(link_id, &current, wanted).await?;
                report.adopted += 1;
                Ok(Step::Settled)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Patches date and title on the stored etag. On 412 the conflict rule decides: a later
    /// Google edit goes to the case (as the inbound sync would apply it); otherwise the
    /// tracker's value is written over the fresh etag and Google's version is audited as lost.
    async fn patch(
        &self,
        session: &mut UserSession,
        link: &CaseEventLink,
        wanted: &Wanted<'_>,
        report: &mut PushReport,
    ) -> Result<Step, PushError> {
        let body = changes(wanted.date, wanted.summary);
        self.pace(Cost::Patch).await;
        match session
            .patch_event(
                self.calendar,
                &link.google_event_id,
                &body,
                link.etag.as_deref(),
            )
            .await
        {
            Ok(updated) => {
                self.record(link.id, &updated, wanted).await?;
                report.patched += 1;
                Ok(Step::Settled)
            }
            Err(AccountError::Google(GoogleError::PreconditionFailed)) => {
                self.pace(Cost::Call).await;
                let current = session
                    .get_event(self.calendar, &link.google_event_id)
                    .await?;
                if current.is_cancelled() {
                    self.dismiss(link.id).await?;
                    return Ok(Step::Replan);
                }
                self.resolve_conflict(session, link, current, wanted, report)
                    .await
            }
            Err(AccountError::Google(
                GoogleError::NotFound | GoogleError::AlreadyDeleted | GoogleError::Forbidden { .. },
            )) => {
                // Deleted in Google before the inbound sync told us (writes to a deleted
                // event are refused): treat it as the user's dismissal.
                self.pace(Cost::Call).await;
                let current = session
                    .get_event(self.calendar, &link.google_event_id)
                    .await;
                match current {
                    Ok(e) if !e.is_cancelled() => Err(PushError::Account(AccountError::Google(
                        GoogleError::Forbidden {
                            reason: "event is live but refuses the write".into(),
                        },
                    ))),
                    Ok(_) | Err(AccountError::Google(GoogleError::NotFound)) => {
                        self.dismiss(link.id).await?;
                        Ok(Step::Replan)
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn resolve_conflict(
        &self,
        session: &mut UserSession,
        link: &CaseEventLink,
        current: Event,
        wanted: &Wanted<'_>,
        report: &mut PushReport,
    ) -> Result<Step, PushError> {
        let (case_id, kind) = (self.case_id, self.kind);
        let deadline = self
            .db(move |conn| case_deadline::lock(conn, case_id, kind))
            .await?;
        let changed_at = deadline.as_ref().and_then(|d| d.changed_at);
        if !tracker_wins(changed_at, current.updated) {
            let (user_id, calendar, event) = (self.user_id, self.calendar.to_owned(), current);
            self.ctx
                .db
                .run(move |conn| {
                    conn.transaction(|conn| {
                        apply_events(conn, user_id, &calendar, std::slice::from_ref(&event))
                    })
                    .map_err(DbError::from)
                })
                .await?;
            report.google_won += 1;
            return Ok(Step::CaseChanged);
        }
        let audit_value = current.date();
        let (etag, event_id) = (current.etag.clone(), link.google_event_id.clone());
        let lost = (
            link.case_id,
            link.user_id,
            current.etag.clone(),
            deadline.and_then(|d| d.value),
        );
        self.db(move |conn| {
            sync_audit::insert(
                conn,
                &NewAuditEntry {
                    case_id: lost.0,
                    user_id: lost.1,
                    field: kind.column(),
                    old_value: lost.3,
                    new_value: audit_value,
                    google_event_id: &event_id,
                    google_etag: lost.2.as_deref(),
                    outcome: AuditOutcome::Rejected.as_str(),
                },
            )
        })
        .await?;
        self.pace(Cost::Patch).await;
        match session
            .patch_event(
                self.calendar,
                &link.google_event_id,
                &changes(wanted.date, wanted.summary),
                etag.as_deref(),
            )
            .await
        {
            Ok(updated) => {
                self.record(link.id, &updated, wanted).await?;
                report.patched += 1;
                Ok(Step::Settled)
            }
            Err(AccountError::Google(GoogleError::PreconditionFailed)) => Ok(Step::Replan),
            Err(e) => Err(e.into()),
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

    /// Stores the etag Google returned (so the inbound sync knows the echo), date and title.
    async fn record(
        &self,
        link_id: Uuid,
        event: &Event,
        wanted: &Wanted<'_>,
    ) -> Result<(), PushError> {
        let etag = event.etag.clone().unwrap_or_default();
        let (date, title): (NaiveDate, String) = (wanted.date, wanted.summary.to_owned());
        self.db(move |conn| links::record_push(conn, link_id, &etag, date, &title))
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
            .db
            .run(move |conn| Ok::<_, DbError>(f(conn)?))
            .await?)
    }
}
