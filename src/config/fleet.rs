use std::time::Duration;

use super::env::{ConfigError, var_parsed};
use crate::quota::QuotaSettings;

/// What the workers of a fleet share: the duties each does once for all (renewal, backstop),
/// the per-channel burst throttle, and Google's quota.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// A notification within this of the last sync's start joins one trailing sync; `None`
    /// syncs every notification at once.
    pub sync_min_interval: Option<Duration>,
    /// How often a worker looks for channels whose backstop poll is due.
    pub backstop_check_every: Duration,
    /// How long a worker's claim on a channel it renews lasts (and the grace of a stray
    /// record): longer than a watch and the swap take.
    pub renewal_claim: Duration,
    pub quota: QuotaSettings,
    /// Dead jobs older than this are forgotten; `None` keeps them.
    pub dead_job_retention: Option<Duration>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            sync_min_interval: Some(Duration::from_millis(1000)),
            backstop_check_every: Duration::from_secs(60),
            renewal_claim: Duration::from_secs(120),
            quota: QuotaSettings::default(),
            dead_job_retention: Some(Duration::from_secs(7 * 86_400)),
        }
    }
}

impl FleetConfig {
    /// Reads:
    /// - `SYNC_MIN_INTERVAL_MS` (default 1000; 0 turns the throttle off)
    /// - `BACKSTOP_CHECK_INTERVAL_MS` (default 60000)
    /// - `CHANNEL_RENEWAL_CLAIM_SECS` (default 120)
    /// - `GOOGLE_USER_QUOTA_PER_MINUTE` (default 540 units, 90% of Google's 600; 0: none)
    /// - `GOOGLE_PROJECT_REQUESTS_PER_MINUTE` (default 9000 of Google's 10,000; 0: none)
    /// - `GOOGLE_PROJECT_REQUESTS_PER_DAY` (default 0: no daily budget)
    /// - `DEAD_JOB_RETENTION_HOURS` (default 168; 0 keeps dead jobs)
    pub fn from_env() -> Result<Self, ConfigError> {
        let ms = |n: u64| Duration::from_millis(n);
        Ok(Self {
            sync_min_interval: match var_parsed("SYNC_MIN_INTERVAL_MS", 1000u64)? {
                0 => None,
                n => Some(ms(n)),
            },
            backstop_check_every: ms(var_parsed("BACKSTOP_CHECK_INTERVAL_MS", 60_000u64)?.max(10)),
            renewal_claim: Duration::from_secs(
                var_parsed("CHANNEL_RENEWAL_CLAIM_SECS", 120u64)?.max(1),
            ),
            quota: QuotaSettings {
                user_per_minute: Some(var_parsed("GOOGLE_USER_QUOTA_PER_MINUTE", 540u32)?)
                    .filter(|n| *n > 0),
                project_per_minute: Some(var_parsed(
                    "GOOGLE_PROJECT_REQUESTS_PER_MINUTE",
                    9000u32,
                )?)
                .filter(|n| *n > 0),
                project_per_day: Some(var_parsed("GOOGLE_PROJECT_REQUESTS_PER_DAY", 0u64)?)
                    .filter(|n| *n > 0),
            },
            dead_job_retention: match var_parsed("DEAD_JOB_RETENTION_HOURS", 168u64)? {
                0 => None,
                h => Some(Duration::from_secs(h * 3600)),
            },
        })
    }
}
