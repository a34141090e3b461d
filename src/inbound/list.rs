//! Reading a calendar's changes from Google: every page of one listing. A page that fails
//! with a rate limit or a transient error is tried again within the run as the retry policy
//! says (so one flaky page does not throw away the pages already read); the lease is
//! extended as pages arrive.

use crate::account::{AccountError, UserSession};
use crate::google::{Event, GoogleError, ListQuery};
use crate::retry::{Classify, RetryPolicy};

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
    page_size: u32,
    retry: &RetryPolicy,
    mut on_page: F,
) -> Result<Listing, AccountError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), AccountError>>,
{
    let mut listing = Listing::default();
    let mut page_token: Option<String> = None;
    loop {
        let query = ListQuery {
            sync_token: sync_token.map(str::to_owned),
            page_token: page_token.clone(),
            max_results: Some(page_size),
        };
        let mut attempt = 0;
        let page = loop {
            attempt += 1;
            match session.list_events(calendar_id, &query).await {
                Ok(page) => break page,
                Err(e) => match retry.in_run(e.classify(), attempt) {
                    Some(wait) => {
                        log::debug!("listing failed ({e}); retrying in {} ms", wait.as_millis());
                        tokio::time::sleep(wait).await;
                    }
                    None => return Err(e),
                },
            }
        };
        listing.pages += 1;
        listing.events.extend(page.items);
        session.check_listing(listing.pages, listing.events.len())?;
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
