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
pub use error::{GoogleError, classify, retry_after};
pub use oauth::{AccessToken, OAuthClient};
pub use types::{Event, EventDateTime, EventsPage, ExtendedProperties, WatchChannel};
