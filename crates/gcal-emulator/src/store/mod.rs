//! The emulator's in-memory model of Google: users, OAuth grants and tokens, calendars with
//! their events and change logs, and watch channels. Everything is behind one mutex held by
//! [`crate::state::Shared`]; methods here are synchronous and never await, so a lock
//! is never held across a suspension point.
//!
//! HTTP concerns (headers, status mapping) stay in the handler modules; this module only knows
//! Google's rules about the data.

mod calendar;
mod channels;
mod event_rules;
mod listing;
mod oauth;
mod tokens;
mod writes;

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::Rng;

pub use calendar::{Calendar, StoredEvent};
pub use channels::{Channel, Delivery, NewChannel};
pub use listing::ListQuery;
pub use oauth::{AccessToken, AuthCode, Grant, TokenGrant};

use super::errors::{ControlError, GoogleError};

/// A Google account known to the emulator.
#[derive(Debug, Clone)]
pub struct User {
    /// Id of the primary calendar (equal to the email, as at Google).
    pub primary_calendar: String,
}

/// All emulated state.
#[derive(Debug, Default)]
pub struct Store {
    users: HashMap<String, User>,
    grants: HashMap<String, Grant>,
    access_tokens: HashMap<String, AccessToken>,
    auth_codes: HashMap<String, AuthCode>,
    calendars: HashMap<String, Calendar>,
    channels: HashMap<String, Channel>,
    /// Last etag number handed out; etags are unique across the emulator.
    etag_counter: u64,
}

impl Store {
    /// Creates a user with a primary calendar and an offline grant for `client_id`.
    ///
    /// Returns the grant's refresh token.
    pub fn add_user(
        &mut self,
        email: &str,
        refresh_token: Option<String>,
        client_id: &str,
        scope: &str,
        time_zone: &str,
        now: DateTime<Utc>,
    ) -> Result<String, ControlError> {
        if self.users.contains_key(email) {
            return Err(ControlError::UserExists(email.to_owned()));
        }
        self.users.insert(
            email.to_owned(),
            User {
                primary_calendar: email.to_owned(),
            },
        );
        self.calendars.insert(
            email.to_owned(),
            Calendar::new(email, email, time_zone, random_token(20), now),
        );
        let token = refresh_token.unwrap_or_else(|| format!("1//{}", random_token(32)));
        self.grants.insert(
            token.clone(),
            Grant {
                email: email.to_owned(),
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                revoked: false,
            },
        );
        Ok(token)
    }

    /// Looks up a user.
    pub fn user(&self, email: &str) -> Option<&User> {
        self.users.get(email)
    }

    /// Email of some user, used by the authorization endpoint when no `login_hint` is given and
    /// exactly one user exists.
    pub fn only_user(&self) -> Option<String> {
        let mut emails = self.users.keys();
        match (emails.next(), emails.next()) {
            (Some(email), None) => Some(email.clone()),
            _ => None,
        }
    }

    /// Resolves `primary` and checks that `email` owns the calendar.
    ///
    /// Returns the real calendar id, or 404 `notFound` as Google does for calendars the caller
    /// cannot see.
    pub fn resolve_calendar(&self, email: &str, calendar_id: &str) -> Result<String, GoogleError> {
        let id = if calendar_id == "primary" {
            self.users
                .get(email)
                .map(|u| u.primary_calendar.clone())
                .ok_or_else(GoogleError::not_found)?
        } else {
            calendar_id.to_owned()
        };
        match self.calendars.get(&id) {
            Some(cal) if cal.owner == email => Ok(id),
            _ => Err(GoogleError::not_found()),
        }
    }

    /// The calendar with this id.
    pub fn calendar(&self, id: &str) -> Option<&Calendar> {
        self.calendars.get(id)
    }

    pub(crate) fn calendar_mut(&mut self, id: &str) -> Result<&mut Calendar, ControlError> {
        self.calendars
            .get_mut(id)
            .ok_or_else(|| ControlError::UnknownCalendar(id.to_owned()))
    }

    /// Makes every sync token issued so far for the calendar answer 410.
    pub fn invalidate_sync_tokens(&mut self, calendar_id: &str) -> Result<(), ControlError> {
        let cal = self.calendar_mut(calendar_id)?;
        cal.epoch += 1;
        Ok(())
    }

    /// Hands out a fresh etag, quoted as Google's are (e.g. `"3485816204423902"`).
    ///
    /// The number is the current time in microseconds, bumped when needed so that it always
    /// grows: two writes in the same microsecond still get different etags.
    fn next_etag(&mut self, now: DateTime<Utc>) -> String {
        let micros = u64::try_from(now.timestamp_micros()).unwrap_or(0);
        self.etag_counter = micros.max(self.etag_counter + 1);
        format!("\"{}\"", self.etag_counter)
    }
}

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(buf.as_mut_slice());
    URL_SAFE_NO_PAD.encode(buf)
}
