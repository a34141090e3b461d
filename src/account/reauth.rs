//! Parking a user until they act: a revoked grant (or missing credentials) stops every
//! channel of the user (`needs_reauth`), so no job keeps calling Google for them; their
//! outbox rows wait. Reconnecting (a new grant, a new watch) makes them active again.

use diesel::prelude::*;

use crate::db::models::{calendar_channel, google_credential};
use crate::ids::UserId;
use crate::retry::Parked;

/// Records on the rows why `user_id`'s work is parked. `CalendarGone` is per channel and is
/// recorded by whoever knows the channel; here it changes nothing.
pub fn park_user(conn: &mut PgConnection, user_id: UserId, why: Parked) -> QueryResult<()> {
    match why {
        Parked::GrantRevoked => conn.transaction(|conn| {
            google_credential::mark_revoked(conn, user_id)?;
            calendar_channel::mark_user_needs_reauth(conn, user_id).map(|_| ())
        }),
        Parked::NoCredentials => {
            calendar_channel::mark_user_needs_reauth(conn, user_id).map(|_| ())
        }
        Parked::CalendarGone => Ok(()),
    }
}
