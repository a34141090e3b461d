//! Reading a calendar's changes from Google: every page of one listing, with a short,
//! bounded in-process retry for rate limits and transient errors (so one flaky page does not
//! throw away the pages already read), and the sync lease extended as pages arrive.

use std::time::Duration;

use rand::Rng;

use super::SyncSettings;
use crate::google::session::SessionError;
use crate::google::{Event, GoogleError, ListQuery, UserSession};

/// A complete listing: every item, in order, and the token for the next incremental sync.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub events: Vec<Event>,
    pub next_sync_token: String,
    pub pages: usize,
}

/// Lists every page from `sync_token` (or everything, for a full sync).
///
/// `on_page` runs after each page (used to extend the lease); its error stops the listing.
pub async fn list_all<F, Fut>(
    session: &mut UserSession,
    calendar_id: &str,
    sync_token: Option<&str>,
    settings: &SyncSettings,
    mut on_page: F,
) -> Result<Listing, SessionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), SessionError>>,
{
    let mut listing = Listing::default();
    let mut page_token: Option<String> = None;
    loop {
        let query = ListQuery {
            sync_token: sync_token.map(str::to_owned),
            page_token: page_token.clone(),
            max_results: Some(settings.page_size),
        };
        let mut attempt = 0;
        let page = loop {
            attempt += 1;
            match session.list_events(calendar_id, &query).await {
                Ok(page) => break page,
                Err(e) => match retry_delay(settings, attempt, &e) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(e),
                },
            }
        };
        listing.pages += 1;
        listing.events.extend(page.items);
        on_page().await?;
        match (page.next_page_token, page.next_sync_token) {
            (Some(next), _) => page_token = Some(next),
            (None, Some(token)) => {
                listing.next_sync_token = token;
                return Ok(listing);
            }
            (None, None) => {
                return Err(GoogleError::Decode("a last page without nextSyncToken".into()).into());
            }
        }
    }
}

/// How long to wait before trying a failed Google call again inside this run, or `None` to
/// give up and let the error go to the caller (and the job queue's backoff): permanent
/// errors, `settings.request_attempts` used up, or a wait longer than
/// `settings.max_inline_wait`. Waits honour Retry-After, else back off exponentially with
/// full jitter.
pub fn retry_delay(
    settings: &SyncSettings,
    attempt: u32,
    error: &SessionError,
) -> Option<Duration> {
    let SessionError::Google(e) = error else {
        return None;
    };
    if !e.is_retryable() || attempt >= settings.request_attempts {
        return None;
    }
    let wait = match e {
        GoogleError::RateLimited {
            retry_after: Some(d),
        } => *d,
        _ => backoff(settings.retry_base, attempt),
    };
    if wait > settings.max_inline_wait {
        return None;
    }
    log::debug!(
        "Google call failed ({e}); retrying in {} ms",
        wait.as_millis()
    );
    Some(wait)
}

/// Full-jitter exponential backoff: a random delay in [0, base · 2^(attempt-1)].
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=millis))
}
