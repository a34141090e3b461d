//! Inbound: a channel's calendar changes at Google become applied case changes.
//!
//! A run takes the calendar's lease (`crate::lease`: one writer per calendar), lists every page of changes since the
//! stored sync token, or everything when there is none or Google answers 410 (`list`), then
//! in ONE transaction re-checks the lease, applies the events (`apply`), reconciles links
//! after a full listing, moves the sync token and stamps the cases (`commit`). Nothing is
//! written before the listing is complete, so a worker killed at any moment leaves the
//! channel at its last committed token, and the next run reads the same changes again
//! (applying them twice changes nothing).

mod apply;
mod commit;
mod error;
mod list;
mod run;

use crate::account::GoogleAccounts;
use crate::config::SyncSettings;
use crate::db::Db;
use crate::retry::RetryPolicy;
pub use apply::{ApplyStats, apply_events};
pub use error::SyncError;
pub use list::{Listing, list_all};
pub use run::{SyncOutcome, SyncReport, sync_channel, sync_under};

/// What a sync run needs.
#[derive(Clone)]
pub struct SyncContext {
    pub db: Db,
    pub google: GoogleAccounts,
    pub settings: SyncSettings,
    pub retry: RetryPolicy,
}
