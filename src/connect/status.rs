//! What the status endpoint reports, computed from stored facts only (no call to Google):
//! the connection, the credentials, the channel and the outbox.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::models::calendar_channel::{self, CalendarChannel, ChannelStatus};
use crate::db::models::calendar_connection::CalendarConnection;
use crate::db::models::google_credential::GoogleCredential;
use crate::db::models::outbox::Backlog;
use crate::db::models::{
    CredentialStatus, calendar_connection, connect_flow, google_credential, outbox,
};
use crate::ids::UserId;

/// Pushes waiting longer than this are overdue.
const OVERDUE: Duration = Duration::minutes(15);
/// A case that failed this many times says Google is failing.
const FAILING_ATTEMPTS: i32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    NotConnected,
    Connecting,
    Importing,
    Healthy,
    Delayed,
    ActionRequired,
    Paused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    AuthorizationRevoked,
    InsufficientScopes,
    CalendarDeleted,
    MassDismissalHeld,
    ProviderErrors,
    WorkOverdue,
}

#[derive(Debug, Clone, Serialize)]
pub struct CalendarInfo {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub state: State,
    pub reason: Option<Reason>,
    pub account_email: Option<String>,
    pub calendar: Option<CalendarInfo>,
    pub channel_expires_at: Option<DateTime<Utc>>,
    pub last_notification_at: Option<DateTime<Utc>>,
    pub last_successful_sync_at: Option<DateTime<Utc>>,
    pub deadlines_waiting: i64,
    pub last_error: Option<String>,
}

struct Facts {
    connection: Option<CalendarConnection>,
    credential: Option<GoogleCredential>,
    channel: Option<CalendarChannel>,
    backlog: Backlog,
    connecting: bool,
    last_synced: Option<DateTime<Utc>>,
}

/// Reads the facts and computes the status of `user_id`.
pub fn read(conn: &mut PgConnection, user_id: UserId, required: &[&str]) -> QueryResult<Status> {
    let connection = calendar_connection::find(conn, user_id)?;
    let channel = calendar_channel::push_target(conn, user_id)?.filter(|c| {
        connection.as_ref().and_then(|k| k.calendar_id.as_deref()) == Some(c.calendar_id.as_str())
    });
    let last_synced = {
        use crate::db::schema::cases::dsl;
        dsl::cases
            .filter(dsl::user_id.eq(user_id))
            .select(diesel::dsl::max(dsl::calendar_last_synced_at))
            .first::<Option<DateTime<Utc>>>(conn)?
    };
    let facts = Facts {
        credential: google_credential::find(conn, user_id)?,
        backlog: outbox::backlog(conn, user_id)?,
        connecting: connect_flow::has_open_flow(conn, user_id)?,
        connection,
        channel,
        last_synced,
    };
    Ok(compute(&facts, required, Utc::now()))
}

fn compute(f: &Facts, required: &[&str], now: DateTime<Utc>) -> Status {
    let (state, reason) = decide(f, required, now);
    let connected = f.connection.is_some();
    Status {
        state,
        reason,
        account_email: f.connection.as_ref().map(|c| c.google_email.clone()),
        calendar: f.connection.as_ref().and_then(|c| {
            c.calendar_id.clone().map(|id| CalendarInfo {
                id,
                name: c.calendar_name.clone(),
            })
        }),
        channel_expires_at: f
            .channel
            .as_ref()
            .filter(|c| c.status == ChannelStatus::Active)
            .and_then(|c| DateTime::from_timestamp_millis(c.expiration_timestamp)),
        last_notification_at: f.channel.as_ref().and_then(|c| c.last_notification_at),
        last_successful_sync_at: f
            .channel
            .as_ref()
            .filter(|c| c.sync_token.is_some())
            .map(|c| c.updated_at)
            .max(f.last_synced)
            .filter(|_| connected),
        deadlines_waiting: if connected { f.backlog.cases } else { 0 },
        last_error: f.connection.as_ref().and_then(|c| c.last_error.clone()),
    }
}

fn decide(f: &Facts, required: &[&str], now: DateTime<Utc>) -> (State, Option<Reason>) {
    let (Some(connection), Some(credential)) = (&f.connection, &f.credential) else {
        return if f.connecting {
            (State::Connecting, None)
        } else {
            (State::NotConnected, None)
        };
    };
    if credential.status == CredentialStatus::Revoked {
        return (State::ActionRequired, Some(Reason::AuthorizationRevoked));
    }
    if !required
        .iter()
        .all(|s| credential.scopes.split_whitespace().any(|g| g == *s))
    {
        return (State::ActionRequired, Some(Reason::InsufficientScopes));
    }
    let Some(channel) = &f.channel else {
        return (State::Connecting, None);
    };
    match channel.status {
        ChannelStatus::NeedsReauth => {
            return (State::ActionRequired, Some(Reason::AuthorizationRevoked));
        }
        ChannelStatus::Held => return (State::ActionRequired, Some(Reason::MassDismissalHeld)),
        ChannelStatus::Stopped => return (State::ActionRequired, Some(Reason::CalendarDeleted)),
        ChannelStatus::Paused => return (State::Paused, None),
        ChannelStatus::Active => {}
    }
    if connection.paused_at.is_some() {
        return (State::Paused, None);
    }
    if channel.sync_token.is_none() {
        return (State::Importing, None);
    }
    if f.backlog.max_attempts >= FAILING_ATTEMPTS {
        return (State::Delayed, Some(Reason::ProviderErrors));
    }
    if f.backlog.oldest.is_some_and(|t| now - t > OVERDUE) {
        return (State::Delayed, Some(Reason::WorkOverdue));
    }
    (State::Healthy, None)
}
