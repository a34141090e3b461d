//! The emulator's in-memory model of Google: users, OAuth grants and tokens, calendars with
//! their events and change logs, and watch channels. Everything is behind one mutex held by
//! [`crate::state::Shared`]; methods here are synchronous and never await, so a lock
//! is never held across a suspension point.
//!
//! HTTP concerns (headers, status mapping) stay in the handler modules; this module only knows
//! Google's rules about the data.

mod calendar;
mod calendars;
mod channels;
mod event_rules;
mod listing;
mod oauth;
mod tokens;
mod writes;

use std::collections::{BTreeSet, HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::Rng;

pub use calendar::{Calendar, StoredEvent};
pub use calendars::CalendarInfo;
pub use channels::{Channel, Delivery, NewChannel};
pub use listing::ListQuery;
pub use oauth::{
    AccessToken, AuthCode, Challenge, ConsentRequest, Grant, GrantInfo, OAuthClient, TokenGrant,
    parse_configured_scope,
};

use super::errors::{ControlError, GoogleError};
use super::scopes::{Op, TokenScopes};

/// A Google account known to the emulator.
#[derive(Debug, Clone)]
pub struct User {
    /// The account's stable id (`sub`): a numeric string, like Google's.
    pub sub: String,
    /// Id of the primary calendar (equal to the email, as at Google).
    pub primary_calendar: String,
}

/// All emulated state.
#[derive(Debug, Default)]
pub struct Store {
    users: HashMap<String, User>,
    clients: HashMap<String, OAuthClient>,
    /// What each (user, client) pair was granted.
    authorizations: HashMap<(String, String), oauth::AppAuthorizationEntry>,
    grants: HashMap<String, Grant>,
    /// Issued refresh tokens in issue order, for the control API's listing.
    refresh_token_order: Vec<String>,
    access_tokens: HashMap<String, AccessToken>,
    consent_requests: HashMap<String, ConsentRequest>,
    auth_codes: HashMap<String, AuthCode>,
    /// Codes already exchanged (or tried), so a replay is told apart from garbage.
    used_codes: HashSet<String>,
    /// The Google account the browser is signed in as, for the consent page.
    signed_in_user: Option<String>,
    calendars: HashMap<String, Calendar>,
    channels: HashMap<String, Channel>,
    /// Last etag number handed out; etags are unique across the emulator.
    etag_counter: u64,
    /// Code exchanges still to answer without a refresh token (`withhold_refresh_tokens`).
    withheld_refresh_tokens: u32,
}

/// A stable numeric `sub` for an email, shaped like Google's (21 digits).
fn sub_for(email: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, email.as_bytes());
    let digits: String = digest
        .as_ref()
        .iter()
        .take(20)
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    format!("1{digits}")
}

impl Store {
    /// Creates a Google account with a primary calendar and no grants.
    pub fn add_account(
        &mut self,
        email: &str,
        time_zone: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        if self.users.contains_key(email) {
            return Err(ControlError::UserExists(email.to_owned()));
        }
        self.users.insert(
            email.to_owned(),
            User {
                sub: sub_for(email),
                primary_calendar: email.to_owned(),
            },
        );
        let etag = self.next_etag(now);
        let mut primary = Calendar::new(email, email, time_zone, random_token(20), now);
        primary.etag = etag;
        self.calendars.insert(email.to_owned(), primary);
        Ok(())
    }

    /// Creates a user with a primary calendar and an offline grant for `client_id`.
    ///
    /// Returns the grant's refresh token.
    pub fn add_user(
        &mut self,
        email: &str,
        refresh_token: Option<String>,
        client_id: &str,
        scopes: BTreeSet<String>,
        time_zone: &str,
        now: DateTime<Utc>,
    ) -> Result<String, ControlError> {
        if refresh_token
            .as_ref()
            .is_some_and(|t| self.grants.contains_key(t))
        {
            return Err(ControlError::RefreshTokenInUse);
        }
        self.add_account(email, time_zone, now)?;
        let token = refresh_token.unwrap_or_else(|| format!("1//0{}", random_token(48)));
        self.insert_grant(&token, email, client_id, scopes, true);
        Ok(token)
    }

    /// Looks up a user.
    pub fn user(&self, email: &str) -> Option<&User> {
        self.users.get(email)
    }

    /// Every user's email, sorted.
    pub fn emails(&self) -> Vec<String> {
        let mut all: Vec<String> = self.users.keys().cloned().collect();
        all.sort();
        all
    }

    /// The account the consent page signs in as when nothing else decides.
    pub fn signed_in_user(&self) -> Option<&str> {
        self.signed_in_user.as_deref()
    }

    /// Sets (or clears) the signed-in account.
    pub fn set_signed_in_user(&mut self, email: Option<&str>) -> Result<(), ControlError> {
        if let Some(e) = email
            && !self.users.contains_key(e)
        {
            return Err(ControlError::UnknownUser(e.to_owned()));
        }
        self.signed_in_user = email.map(str::to_owned);
        Ok(())
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

    /// Checks the caller's scopes for `op`, resolves the calendar (404 when it is not the
    /// caller's), then checks the scopes against that calendar (`calendar.app.created` reaches
    /// only calendars its client created). Returns the real calendar id.
    pub fn authorize(
        &self,
        email: &str,
        token: &TokenScopes,
        calendar_id: &str,
        op: Op,
    ) -> Result<String, GoogleError> {
        token.require(op)?;
        let id = self.resolve_calendar(email, calendar_id)?;
        let created_by = self
            .calendars
            .get(&id)
            .and_then(|c| c.created_by_client.as_deref());
        token.require_on(op, created_by)?;
        Ok(id)
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
