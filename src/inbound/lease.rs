//! The run's hold on its channel: taken before listing, extended after every page, released
//! by the commit (or after a failure). The fenced lease itself is `db::models::channel_lease`.

use std::time::Duration;

use uuid::Uuid;

use super::SyncError;
use crate::account::AccountError;
use crate::db::models::CalendarChannel;
use crate::db::models::channel_lease::{self, LeaseOutcome};
use crate::db::{Db, DbError};
use crate::google::GoogleError;

/// The lease a run took, or why it has none.
pub enum Taken {
    Lease(Box<CalendarChannel>),
    Busy,
    Inactive(crate::db::models::ChannelStatus),
    Unknown,
}

/// Takes the channel's lease for `owner`.
pub async fn take(
    db: &Db,
    channel_id: &str,
    owner: Uuid,
    ttl: Duration,
) -> Result<Taken, SyncError> {
    let id = channel_id.to_owned();
    let outcome = db
        .run(move |conn| Ok::<_, DbError>(channel_lease::acquire(conn, &id, owner, ttl)?))
        .await?;
    Ok(match outcome {
        LeaseOutcome::Acquired(channel) => Taken::Lease(channel),
        LeaseOutcome::Busy => Taken::Busy,
        LeaseOutcome::Inactive(status) => Taken::Inactive(status),
        LeaseOutcome::Unknown => Taken::Unknown,
    })
}

/// Pushes the lease's expiry out again; a lease found lost ends the listing as a transient
/// failure (nothing has been written).
pub async fn extend(
    db: &Db,
    channel_id: &str,
    owner: Uuid,
    ttl: Duration,
) -> Result<(), AccountError> {
    let id = channel_id.to_owned();
    let held = db
        .run(move |conn| Ok::<_, DbError>(channel_lease::extend(conn, &id, owner, ttl)?))
        .await?;
    if held {
        Ok(())
    } else {
        Err(GoogleError::Transient("sync lease lost".into()).into())
    }
}
