//! Google's side: the Calendar API and the OAuth token endpoint, over reqwest, with base URLs
//! from configuration. Errors are `GoogleError` decisions (see `error.rs`).
//!
//! Nothing here touches the database: acting for a user (their stored, sealed tokens) is
//! `crate::account`.

mod calendar;
mod error;
mod oauth;
mod types;

pub use calendar::{CalendarApi, ListQuery, WatchParams, WatchRequest};
pub use error::{GoogleError, Limit, RateScope, classify, retry_after};
pub use oauth::{AccessToken, CodeGrant, OAuthClient, UserInfo};
pub use types::{
    Calendar, Event, EventDateTime, EventSource, EventsPage, ExtendedProperties, ReminderOverride,
    Reminders, WatchChannel,
};

/// How much calsync reads from Google before it stops trusting the answer: bytes per
/// response, and pages and events per listing (an endless `nextPageToken` must end a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoogleLimits {
    /// Longest response body read, in bytes (`GOOGLE_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Most events.list pages one listing reads (`SYNC_MAX_PAGES`).
    pub max_pages: usize,
    /// Most events one listing holds (`SYNC_MAX_EVENTS`).
    pub max_events: usize,
}

impl Default for GoogleLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 * 1024 * 1024,
            max_pages: 1000,
            max_events: 250_000,
        }
    }
}

impl GoogleLimits {
    /// Fails once a listing has read more than `max_pages` pages or `max_events` events.
    pub fn check_listing(&self, pages: usize, events: usize) -> Result<(), GoogleError> {
        if pages > self.max_pages {
            return Err(GoogleError::LimitExceeded(Limit::Pages(self.max_pages)));
        }
        if events > self.max_events {
            return Err(GoogleError::LimitExceeded(Limit::Events(self.max_events)));
        }
        Ok(())
    }
}
