//! Applying Google's events to the cases, inside the caller's transaction.
//!
//! Rules, for events calsync created (known by their link row; tombstones carry only id and
//! etag, so the link, not the marker, is the key):
//! - same etag as the link records → our own echo, or a page applied twice: nothing changes;
//! - cancelled → the deadline is kept, the link is marked dismissed;
//! - the date moved (it differs from the date calsync last synced) → the case takes it,
//!   unless the tracker changed that deadline after the event's `updated` (then the tracker
//!   wins, the rejection is audited, and the outbound push corrects the event); an edit that
//!   left the date alone changes nothing in the case;
//! - events without a link → not ours: ignored;
//! - a version older than the link's last record (listed before the outbound push wrote the
//!   event, applied after the push recorded its etag) leaves the link's etag alone.

use std::collections::BTreeSet;

use diesel::QueryResult;
use diesel::pg::PgConnection;

use crate::db::models::case_deadline;
use crate::db::models::case_event_link::{self as links, CaseEventLink};
use crate::db::models::sync_audit::{self, AuditOutcome, NewAuditEntry};
use crate::domain::{EventMarker, tracker_wins};
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
            Some(link) if names_other_deadline(event, &link) => stats.ignored += 1,
            Some(link) => apply_one(conn, event, &link, &mut stats)?,
            None => stats.ignored += 1,
        }
    }
    Ok(stats)
}

/// A live event whose marker names another case or kind than its link: a copy or a
/// hand-edited marker; calsync does not act on it.
fn names_other_deadline(event: &Event, link: &CaseEventLink) -> bool {
    let marker = event
        .extended_properties
        .as_ref()
        .and_then(|p| p.private.as_ref())
        .and_then(EventMarker::from_properties);
    match marker {
        Some(m) => m.case_id != link.case_id || Ok(m.kind) != link.kind(),
        None => false,
    }
}

/// Whether the link was recorded after this version of the event was made: the outbound push
/// wrote the event (and recorded the new etag) after this listing was taken. Putting the
/// listed etag back would make the push's next `If-Match` fail.
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
    let (Some(date), Some(deadline)) =
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
    if deadline.value == Some(date) {
        if !older_than_link(event, link) {
            links::record_write(conn, link.id, etag, date)?;
        }
        stats.unchanged += 1;
        return Ok(());
    }
    if link.synced_date == Some(date) {
        // Google still shows the date calsync last synced: the edit there (a title, a
        // description) did not move the deadline, and the tracker's newer date is on its way
        // out through the push. Only the version seen is remembered; the conflict rule is for
        // dates that changed on both sides.
        if !older_than_link(event, link) {
            links::record_etag(conn, link.id, etag)?;
        }
        stats.unchanged += 1;
        return Ok(());
    }
    let audit = |outcome: AuditOutcome| NewAuditEntry {
        case_id: link.case_id,
        user_id: link.user_id,
        field: kind.column(),
        old_value: deadline.value,
        new_value: Some(date),
        google_event_id: &link.google_event_id,
        google_etag: event.etag.as_deref(),
        outcome: outcome.as_str(),
    };
    if tracker_wins(deadline.changed_at, event.updated) {
        sync_audit::insert(conn, &audit(AuditOutcome::Rejected))?;
        // Remember the version seen (the outbound push patches against it), not its date.
        if !older_than_link(event, link) {
            links::record_etag(conn, link.id, etag)?;
        }
        stats.rejected += 1;
        return Ok(());
    }
    case_deadline::set_from_google(conn, link.case_id, kind, date)?;
    sync_audit::insert(conn, &audit(AuditOutcome::Applied))?;
    links::record_write(conn, link.id, etag, date)?;
    stats.applied += 1;
    Ok(())
}
