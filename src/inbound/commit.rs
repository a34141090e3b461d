//! The commit of a run: one transaction that re-checks the lease (locking the channel row),
//! applies the events, reconciles links after a full listing, moves the sync token
//! (compare-and-set) and stamps the cases. The lease stays held: its holder releases it.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::SyncError;
use super::apply::apply_events;
use super::list::Listing;
use super::run::SyncReport;
use crate::config::SyncSettings;
use crate::db::Db;
use crate::db::models::calendar_channel::{self, CalendarChannel};
use crate::db::models::case_deadline;
use crate::db::models::case_event_link as links;
use crate::db::models::channel_lease;
use crate::ids::CaseId;

/// What was listed, and how.
pub struct Listed {
    pub listing: Listing,
    /// A full listing (no token yet, or Google invalidated it).
    pub full: bool,
    /// The database's clock when the listing began: links recorded after it are newer than
    /// the listing and are never dismissed for being absent from it.
    pub started_at: DateTime<Utc>,
}

pub async fn commit(
    db: &Db,
    settings: &SyncSettings,
    channel: CalendarChannel,
    owner: Uuid,
    listed: Listed,
) -> Result<SyncReport, SyncError> {
    let settings = settings.clone();
    db.run(move |conn| {
        conn.transaction(|conn| {
            if channel_lease::fence(conn, channel.id, owner)?.is_none() {
                return Err(SyncError::LeaseLost);
            }
            let Listed {
                listing,
                full,
                started_at,
            } = listed;
            if full
                && let Some(reason) =
                    mass_dismissal(conn, &settings, &channel, &listing, started_at)?
            {
                calendar_channel::hold(conn, channel.id, &reason)?;
                log::warn!("channel {} held: {reason}", channel.channel_id);
                return Ok(SyncReport {
                    full,
                    pages: listing.pages,
                    events: listing.events.len(),
                    stats: Default::default(),
                    links_marked_missing: 0,
                    held: Some(reason),
                });
            }
            let stats = apply_events(conn, channel.user_id, &channel.calendar_id, &listing.events)?;
            let links_marked_missing = if full {
                let seen: Vec<String> = listing
                    .events
                    .iter()
                    .filter(|e| !e.is_cancelled())
                    .filter_map(|e| e.id.clone())
                    .collect();
                links::dismiss_missing(
                    conn,
                    channel.user_id,
                    &channel.calendar_id,
                    &seen,
                    started_at,
                )?
            } else {
                0
            };
            let moved = calendar_channel::advance_sync_token(
                conn,
                channel.id,
                channel.sync_token.as_deref(),
                &listing.next_sync_token,
            )?;
            if !moved {
                return Err(SyncError::LeaseLost);
            }
            let touched: Vec<CaseId> = stats.touched_cases.iter().copied().collect();
            case_deadline::touch_synced(conn, &touched)?;
            Ok(SyncReport {
                full,
                pages: listing.pages,
                events: listing.events.len(),
                stats,
                links_marked_missing,
                held: None,
            })
        })
    })
    .await
}

/// A full listing that would dismiss most of the calendar's live deadlines at once: the
/// reason to hold the channel instead, or `None` to go ahead (also when an operator confirmed
/// the dismissals, which this sync then uses up).
fn mass_dismissal(
    conn: &mut PgConnection,
    settings: &SyncSettings,
    channel: &CalendarChannel,
    listing: &Listing,
    started_at: DateTime<Utc>,
) -> Result<Option<String>, SyncError> {
    if calendar_channel::dismissal_confirmed(conn, channel.id)? {
        calendar_channel::consume_dismissal_confirmation(conn, channel.id)?;
        return Ok(None);
    }
    let seen: Vec<String> = listing
        .events
        .iter()
        .filter(|e| !e.is_cancelled())
        .filter_map(|e| e.id.clone())
        .collect();
    let missing = links::missing_from(
        conn,
        channel.user_id,
        &channel.calendar_id,
        &seen,
        started_at,
    )?;
    let mut cancelled = 0;
    for id in listing
        .events
        .iter()
        .filter(|e| e.is_cancelled())
        .filter_map(|e| e.id.as_deref())
    {
        if links::find_by_event(conn, channel.user_id, &channel.calendar_id, id)?
            .is_some_and(|l| !l.dismissed && !l.removed)
        {
            cancelled += 1;
        }
    }
    let would = missing.len() + cancelled;
    let live = usize::try_from(links::count_live(
        conn,
        channel.user_id,
        &channel.calendar_id,
    )?)
    .unwrap_or(usize::MAX);
    Ok(settings.is_mass_dismissal(would, live).then(|| {
        format!("a full listing would dismiss {would} of the calendar's {live} deadlines at once")
    }))
}
