use std::time::Duration;

use super::env::{ConfigError, var_parsed};

/// Tunables of an inbound sync run.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// `maxResults` per events.list page (Google allows up to 2500).
    pub page_size: u32,
    /// Lifetime of the calendar's lease: renewed by its holder's heartbeat every third of it,
    /// so a killed worker's lease frees within this.
    pub lease_ttl: Duration,
    /// A full sync that would dismiss more than this share of a calendar's live deadlines at
    /// once (and at least `mass_dismiss_min` of them) dismisses none and holds the channel.
    pub mass_dismiss_share: f64,
    pub mass_dismiss_min: usize,
}

impl SyncSettings {
    /// Whether dismissing `would` of `live` deadlines at once looks like an outage, a wrong
    /// account or a wiped calendar rather than a user's deletions.
    pub fn is_mass_dismissal(&self, would: usize, live: usize) -> bool {
        would >= self.mass_dismiss_min && (would as f64) > self.mass_dismiss_share * live as f64
    }
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            page_size: 2500,
            lease_ttl: Duration::from_secs(10),
            mass_dismiss_share: 0.5,
            mass_dismiss_min: 5,
        }
    }
}

/// How the worker syncs: page size and lease of inbound runs, and how the outbox is drained.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub settings: SyncSettings,
    /// How often the worker looks for outbox rows whose push is due.
    pub outbox_sweep_interval: Duration,
    /// Cases one push job takes for a user; the rest wait for the next job.
    pub push_batch_cases: i64,
    /// How often every active channel is synced without a notification; `None` turns the
    /// backstop off.
    pub backstop_interval: Option<Duration>,
    /// Google quota units a user's pushes may use per minute in this process, in front of
    /// the fleet's shared quota; `None` (0, the default) does not pace here.
    pub push_requests_per_minute: Option<u32>,
    /// What pushed events look like (title, link, reminders).
    pub event_style: super::EventStyle,
}

impl SyncConfig {
    /// Reads:
    /// - `SYNC_PAGE_SIZE` (default 2500, Google's maximum `maxResults`)
    /// - `SYNC_LEASE_SECS` (default 10): lifetime of a calendar's lease; its holder renews it
    ///   every third of it, so a dead worker's lease frees within this
    /// - `OUTBOX_SWEEP_INTERVAL_MS` (default 500)
    /// - `PUSH_BATCH_CASES` (default 200)
    /// - `BACKSTOP_SYNC_INTERVAL_SECS` (default 14400: 6 polls a day of an idle channel,
    ///   each channel's due time varied by ±25%; 0 turns it off)
    /// - `PUSH_REQUESTS_PER_MINUTE` (default 0, off): an extra per-process cap on a user's
    ///   pushes, in front of the fleet's shared quota (`GOOGLE_USER_QUOTA_PER_MINUTE`)
    /// - the event style (`EventStyle::from_env`)
    /// - `SYNC_MASS_DISMISS_THRESHOLD` (default 0.5) and `SYNC_MASS_DISMISS_MIN` (default 5):
    ///   a full sync that would dismiss more than this share of a calendar's deadlines, and at
    ///   least this many, dismisses none and holds the channel for an operator
    pub fn from_env() -> Result<Self, ConfigError> {
        let page_size = var_parsed("SYNC_PAGE_SIZE", 2500u32)?;
        if !(1..=2500).contains(&page_size) {
            return Err(ConfigError::Invalid {
                name: "SYNC_PAGE_SIZE",
                reason: "must be between 1 and 2500".into(),
            });
        }
        Ok(Self {
            settings: SyncSettings {
                page_size,
                lease_ttl: Duration::from_secs(var_parsed("SYNC_LEASE_SECS", 10u64)?.max(3)),
                mass_dismiss_share: mass_dismiss_share()?,
                mass_dismiss_min: var_parsed("SYNC_MASS_DISMISS_MIN", 5usize)?,
            },
            outbox_sweep_interval: Duration::from_millis(
                var_parsed("OUTBOX_SWEEP_INTERVAL_MS", 500u64)?.max(10),
            ),
            push_batch_cases: var_parsed("PUSH_BATCH_CASES", 200i64)?.max(1),
            backstop_interval: match var_parsed("BACKSTOP_SYNC_INTERVAL_SECS", 14_400u64)? {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            push_requests_per_minute: Some(var_parsed("PUSH_REQUESTS_PER_MINUTE", 0u32)?)
                .filter(|n| *n > 0),
            event_style: super::EventStyle::from_env()?,
        })
    }
}

fn mass_dismiss_share() -> Result<f64, ConfigError> {
    let share = var_parsed("SYNC_MASS_DISMISS_THRESHOLD", 0.5f64)?;
    if !(0.0..=1.0).contains(&share) {
        return Err(ConfigError::Invalid {
            name: "SYNC_MASS_DISMISS_THRESHOLD",
            reason: "must be a share between 0 and 1 (1 turns the breaker off)".into(),
        });
    }
    Ok(share)
}
