//! One writer per calendar. The inbound sync and the outbound push of a calendar both hold
//! its channel row's lease for their read-decide-write steps, so neither decides on what the
//! other is halfway through writing. A lease lives as long as its holder: a heartbeat renews
//! it every third of its lifetime, so a killed worker's lease frees within one lifetime
//! (`SYNC_LEASE_SECS`), and a release that PostgreSQL cannot take (an outage) is retried
//! until it answers or the lease has run out anyway.
//!
//! The rows' side of it (acquire, extend, fence, release) is `db::models::channel_lease`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::db::models::channel_lease::{self, LeaseOutcome};
use crate::db::models::{CalendarChannel, ChannelStatus};
use crate::db::{Db, DbError};

/// What asking for a calendar's lease gave.
pub enum Taken {
    /// Held, with the channel row as it was when taken.
    Held(CalendarLease, Box<CalendarChannel>),
    Busy,
    Inactive(ChannelStatus),
    Unknown,
}

/// Takes the lease for an inbound sync of the channel Google knows as `channel_id`.
pub async fn take_for_sync(db: &Db, channel_id: &str, ttl: Duration) -> Result<Taken, DbError> {
    let (id, owner) = (channel_id.to_owned(), Uuid::new_v4());
    let outcome = db
        .run(move |conn| Ok::<_, DbError>(channel_lease::acquire_for_sync(conn, &id, owner, ttl)?))
        .await?;
    Ok(taken(db, outcome, owner, ttl))
}

/// Takes the lease for the outbound push of the calendar whose channel row is `row_id`.
pub async fn take_for_push(db: &Db, row_id: Uuid, ttl: Duration) -> Result<Taken, DbError> {
    let owner = Uuid::new_v4();
    let outcome = db
        .run(move |conn| {
            Ok::<_, DbError>(channel_lease::acquire_for_push(conn, row_id, owner, ttl)?)
        })
        .await?;
    Ok(taken(db, outcome, owner, ttl))
}

fn taken(db: &Db, outcome: LeaseOutcome, owner: Uuid, ttl: Duration) -> Taken {
    match outcome {
        LeaseOutcome::Acquired(channel) => Taken::Held(
            CalendarLease::start(db.clone(), channel.id, owner, ttl),
            channel,
        ),
        LeaseOutcome::Busy => Taken::Busy,
        LeaseOutcome::Inactive(status) => Taken::Inactive(status),
        LeaseOutcome::Unknown => Taken::Unknown,
    }
}

/// A held lease. Renewed by a heartbeat until released or dropped; dropping it without
/// [`CalendarLease::release`] still gives it up (in the background).
pub struct CalendarLease {
    db: Db,
    row_id: Uuid,
    owner: Uuid,
    ttl: Duration,
    held: Arc<AtomicBool>,
    heartbeat: tokio::task::JoinHandle<()>,
    released: bool,
}

impl CalendarLease {
    fn start(db: Db, row_id: Uuid, owner: Uuid, ttl: Duration) -> Self {
        let held = Arc::new(AtomicBool::new(true));
        let heartbeat = tokio::spawn(heartbeat(db.clone(), row_id, owner, ttl, held.clone()));
        Self {
            db,
            row_id,
            owner,
            ttl,
            held,
            heartbeat,
            released: false,
        }
    }

    /// The channel row the lease is on.
    pub fn row_id(&self) -> Uuid {
        self.row_id
    }

    /// The fencing token: commits check the row still names it.
    pub fn owner(&self) -> Uuid {
        self.owner
    }

    /// Whether the heartbeat still holds it. A lost lease cannot commit (the commit's fence
    /// says so too); this only lets a run stop early.
    pub fn is_held(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }

    /// Gives the lease up: at once when PostgreSQL answers, else retried in the background
    /// until it does or the lease has expired by itself.
    pub async fn release(mut self) {
        self.released = true;
        self.heartbeat.abort();
        let (db, row_id, owner) = (self.db.clone(), self.row_id, self.owner);
        if release_once(&db, row_id, owner).await.is_err() {
            tokio::spawn(release_until_expired(db, row_id, owner, self.ttl));
        }
    }
}

impl Drop for CalendarLease {
    fn drop(&mut self) {
        self.heartbeat.abort();
        if !self.released
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let (db, row_id, owner, ttl) = (self.db.clone(), self.row_id, self.owner, self.ttl);
            handle.spawn(release_until_expired(db, row_id, owner, ttl));
        }
    }
}

async fn release_once(db: &Db, row_id: Uuid, owner: Uuid) -> Result<(), DbError> {
    db.run(move |conn| Ok::<_, DbError>(channel_lease::release(conn, row_id, owner)?))
        .await
}

/// Retries the release until PostgreSQL takes it, or until the lease would have expired
/// anyway (after that there is nothing left to give up).
async fn release_until_expired(db: Db, row_id: Uuid, owner: Uuid, ttl: Duration) {
    let give_up = Instant::now() + ttl;
    let mut pause = Duration::from_millis(100);
    while Instant::now() < give_up {
        match release_once(&db, row_id, owner).await {
            Ok(()) => return,
            Err(e) => log::debug!("releasing the lease of channel row {row_id} failed: {e}"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// Renews the lease every third of its lifetime while held. A renewal PostgreSQL refuses is
/// tried again at the next beat; once the lease is found lost (or its expiry has passed with
/// no renewal), `held` turns false for good.
async fn heartbeat(db: Db, row_id: Uuid, owner: Uuid, ttl: Duration, held: Arc<AtomicBool>) {
    let mut renewed_at = Instant::now();
    loop {
        tokio::time::sleep(ttl / 3).await;
        let renewal = db
            .run(move |conn| Ok::<_, DbError>(channel_lease::extend(conn, row_id, owner, ttl)?))
            .await;
        match renewal {
            Ok(true) => renewed_at = Instant::now(),
            Ok(false) => {
                held.store(false, Ordering::SeqCst);
                return;
            }
            Err(e) => {
                log::warn!("renewing the lease of channel row {row_id} failed: {e}");
                if renewed_at.elapsed() >= ttl {
                    held.store(false, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
}
