//! The inbound sync engine: a channel's calendar changes become applied case changes.
//!
//! A run takes the channel's fenced lease, lists every page of changes since the stored sync
//! token (or everything, when there is none or Google answers 410), then in ONE transaction
//! re-checks the lease, applies the events, reconciles links after a full listing, moves the
//! sync token and stamps the cases. Nothing is written before the listing is complete, so a
//! worker killed at any moment leaves the channel at its last committed token, and the next
//! run reads the same changes again (applying them twice changes nothing: see `apply`).

pub mod apply;
mod engine;
pub mod fetch;
pub mod renewal;
pub mod watch;

use std::time::Duration;

pub use engine::{SyncContext, SyncError, SyncOutcome, SyncReport, sync_channel};

/// Tunables of a sync run.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// `maxResults` per events.list page (Google allows up to 2500).
    pub page_size: u32,
    /// How long a run may hold the channel before another worker may take it over; extended
    /// after every page.
    pub lease_ttl: Duration,
    /// Tries per Google request inside one run (rate limits and transient errors).
    pub request_attempts: u32,
    /// First backoff step of those in-run retries.
    pub retry_base: Duration,
    /// Longest wait inside a run; longer waits fail the run and leave it to the queue.
    pub max_inline_wait: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            page_size: 2500,
            lease_ttl: Duration::from_secs(60),
            request_attempts: 3,
            retry_base: Duration::from_millis(250),
            max_inline_wait: Duration::from_secs(10),
        }
    }
}
