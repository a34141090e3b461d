//! Google's side: the Calendar API and the OAuth token endpoint, over reqwest, with base URLs
//! from configuration. Errors are `GoogleError` decisions (see `error.rs`).
//!
//! Nothing here touches the database except `session`, which finds a user's access token
//! (cached, or refreshed from the sealed refresh token) and refreshes it once on a 401.

mod calendar;
mod error;
mod oauth;
pub mod session;
mod types;

pub use calendar::{CalendarApi, ListQuery, WatchParams, WatchRequest};
pub use error::{GoogleError, classify, retry_after};
pub use oauth::{AccessToken, OAuthClient};
pub use session::{GoogleAccounts, UserSession};
pub use types::{Event, EventDateTime, EventsPage, ExtendedProperties, WatchChannel};
