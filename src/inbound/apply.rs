//! Applying Google's events to the cases, inside the caller's transaction (which holds the
//! calendar's lease: no push of this calendar is deciding at the same time).
//!
//! Rules, for events calsync created (known by their link row, and, when live, by calsync's
//! private marker naming the same case and deadline; tombstones carry only id and etag):
//! - same etag as the link records → our own echo, or a page applied twice: nothing;
//! - cancelled → the deadline is kept, the link is marked dismissed;
//! - the date calsync is writing (`pending_date`: the answer of that write was not recorded
//!   yet, or never came) → our own echo: it becomes the synced state;
//! - the date calsync last synced → Google did not move the deadline (a retitle, say):
//!   only the version seen is remembered;
//! - a new date, and the tracker has not written the deadline since it was last in sync →
//!   the case takes Google's date (as Google's change, at Google's `updated`: no push);
//! - a new date, and the tracker has written it too → the later of the two last writes wins,
//!   each by its own clock (the tracker's commit time, Google's `updated`), a tie to the
//!   tracker (`domain::tracker_wins`). Google's date goes to the case, or is rejected and a
//!   push is queued to put the tracker's date back on the event. Both values and both times
//!   are audited either way;
//! - events without a link, or whose marker names another case or deadline → not ours.

use std::collections::BTreeSet;

use diesel::QueryResult;
use diesel::pg::PgConnection;

use crate::db::models::case_deadline::{self, CaseDeadline, Revision};
use crate::db::models::case_event_link::{self as links, CaseEventLink};
use crate::db::models::outbox;
use crate::db::models::sync_audit::{self, AuditOutcome, NewAuditEntry};
use crate::domain::{DeadlineKind, EventMarker, tracker_wins};
use crate::google::Event;
use crate::ids::{CaseId, UserId};

/// What one apply did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyStats {
    pub applied: usize,
    pub rejected: usize,
    pub dismissed: usize,
    pub restored: usize,
    pub echoes: usize,
    pub unchanged: usize,
    pub ignored: usize,
    /// Cases whose events were looked at (their `calendar_last_synced_at` is stamped).
    pub touched_cases: BTreeSet<CaseId>,
}

/// Applies `events` of one user's calendar.
pub fn apply_events(
    conn: &mut PgConnection,
    user_id: UserId,
    calendar_id: &str,
    events: &[Event],
) -> QueryResult<ApplyStats> {
    let mut stats = ApplyStats::default();
    for event in events {
        let Some(event_id) = event.id.as_deref() else {
            stats.ignored += 1;
            continue;
        };
        match links::find_by_event(conn, user_id, calendar_id, event_id)? {
            Some(link) if is_ours(event, &link) => apply_one(conn, event, &link, &mut stats)?,
            _ => stats.ignored += 1,
        }
    }
    Ok(stats)
}

/// A tombstone carries no marker; a live event is calsync's only if its marker names the
/// link's case and deadline (not a copy, not a user's event that happens to share an id).
fn is_ours(event: &Event, link: &CaseEventLink) -> bool {
    if event.is_cancelled() {
        return true;
    }
    let marker = event
        .extended_properties
        .as_ref()
        .and_then(|p| p.private.as_ref())
        .and_then(EventMarker::from_properties);
    marker.is_some_and(|m| m.case_id == link.case_id && Ok(m.kind) == link.kind())
}

/// Whether the link was recorded after this version of the event was made (a listing that
/// is older than the link's last record): its etag must not replace the recorded one.
fn older_than_link(event: &Event, link: &CaseEventLink) -> bool {
    event
        .updated
        .is_some_and(|updated| updated < link.updated_at)
}

fn apply_one(
    conn: &mut PgConnection,
    event: &Event,
    link: &CaseEventLink,
    stats: &mut ApplyStats,
) -> QueryResult<()> {
    if link.etag.is_some() && event.etag == link.etag {
        stats.echoes += 1;
        return Ok(());
    }
    let Ok(kind) = link.kind() else {
        stats.ignored += 1;
        return Ok(());
    };
    let etag = event.etag.as_deref().unwrap_or_default();
    if event.is_cancelled() {
        if !link.dismissed {
            links::set_dismissed(conn, link.id, true)?;
            stats.dismissed += 1;
        }
        links::record_etag(conn, link.id, etag)?;
        stats.touched_cases.insert(link.case_id);
        return Ok(());
    }
    let (Some(date), Some((deadline, revision))) =
        (event.date(), case_deadline::lock(conn, link.case_id, kind)?)
    else {
        stats.ignored += 1;
        return Ok(());
    };
    if !deadline.open {
        stats.ignored += 1;
        return Ok(());
    }
    stats.touched_cases.insert(link.case_id);
    if link.dismissed {
        // The user restored the event in Google: it is on their calendar again.
        links::set_dismissed(conn, link.id, false)?;
        stats.restored += 1;
    }
    if link.pending_date == Some(date) {
        links::confirm_pending(conn, link, etag)?;
        stats.echoes += 1;
        return Ok(());
    }
    if link.synced_date == Some(date) {
        // Google did not move the deadline; a newer tracker date is on its way out through
        // the push. Only the version seen is remembered.
        if !older_than_link(event, link) {
            links::record_etag(conn, link.id, etag)?;
        }
        stats.unchanged += 1;
        return Ok(());
    }
    if deadline.value == Some(date) {
        // Both sides say the same: in sync again.
        links::record_sync(conn, link.id, etag, date, revision.tracker_rev)?;
        stats.unchanged += 1;
        return Ok(());
    }
    let moved = Moved {
        link,
        kind,
        deadline: &deadline,
        revision,
        event,
        date,
        etag,
    };
    if tracker_wrote_since_sync(link, &deadline, revision) {
        moved.decide_conflict(conn, stats)
    } else {
        moved.apply(conn, false, stats)
    }
}

/// Whether the tracker has written the deadline since it was last in sync with the event.
/// Links recorded before revisions were counted fall back to comparing values.
fn tracker_wrote_since_sync(link: &CaseEventLink, deadline: &CaseDeadline, rev: Revision) -> bool {
    match link.synced_tracker_rev {
        Some(synced) => rev.tracker_rev > synced,
        None => deadline.value != link.synced_date,
    }
}

/// A deadline Google moved to a new date.
struct Moved<'a> {
    link: &'a CaseEventLink,
    kind: DeadlineKind,
    deadline: &'a CaseDeadline,
    revision: Revision,
    event: &'a Event,
    date: chrono::NaiveDate,
    etag: &'a str,
}

impl Moved<'_> {
    fn decide_conflict(&self, conn: &mut PgConnection, stats: &mut ApplyStats) -> QueryResult<()> {
        if !tracker_wins(self.revision.tracker_changed_at, self.event.updated) {
            return self.apply(conn, true, stats);
        }
        self.audit(conn, AuditOutcome::Rejected, true)?;
        // Remember the version seen (the push patches against it), not its date, and queue
        // the push that puts the tracker's date back on the event.
        if !older_than_link(self.event, self.link) {
            links::record_etag(conn, self.link.id, self.etag)?;
        }
        outbox::enqueue_cases(conn, self.link.user_id, &[self.link.case_id])?;
        stats.rejected += 1;
        Ok(())
    }

    fn apply(
        &self,
        conn: &mut PgConnection,
        conflict: bool,
        stats: &mut ApplyStats,
    ) -> QueryResult<()> {
        let updated = self.event.updated.unwrap_or_else(chrono::Utc::now);
        case_deadline::set_from_google(conn, self.link.case_id, self.kind, self.date, updated)?;
        self.audit(conn, AuditOutcome::Applied, conflict)?;
        links::record_sync(
            conn,
            self.link.id,
            self.etag,
            self.date,
            self.revision.tracker_rev,
        )?;
        stats.applied += 1;
        Ok(())
    }

    fn audit(
        &self,
        conn: &mut PgConnection,
        outcome: AuditOutcome,
        conflict: bool,
    ) -> QueryResult<()> {
        sync_audit::insert(
            conn,
            &NewAuditEntry {
                case_id: self.link.case_id,
                user_id: self.link.user_id,
                field: self.kind.column(),
                old_value: self.deadline.value,
                new_value: Some(self.date),
                google_event_id: &self.link.google_event_id,
                google_etag: self.event.etag.as_deref(),
                outcome: outcome.as_str(),
                conflict,
                // The tracker's side is recorded when it had a side: a conflict.
                tracker_value: self.deadline.value.filter(|_| conflict),
                google_value: Some(self.date),
                tracker_changed_at: self.revision.tracker_changed_at.filter(|_| conflict),
                google_updated_at: self.event.updated,
            },
        )
    }
}
