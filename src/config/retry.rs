use std::time::Duration;

use super::env::{ConfigError, var_parsed};
use crate::retry::RetryPolicy;

impl RetryPolicy {
    /// Reads:
    /// - `JOB_MAX_ATTEMPTS` (default 8): attempts of a queued job before the dead set
    /// - `JOB_BACKOFF_BASE_MS` (default 1000), `JOB_BACKOFF_MAX_MS` (default 300000): the
    ///   backoff between attempts of queued jobs and outbox cases
    /// - `SYNC_REQUEST_ATTEMPTS` (default 3): tries of one Google request within a run
    /// - `RETRY_AFTER_MAX_SECS` (default 3600): the longest `Retry-After` honoured
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let policy = Self {
            max_attempts: var_parsed("JOB_MAX_ATTEMPTS", d.max_attempts)?,
            base: Duration::from_millis(var_parsed("JOB_BACKOFF_BASE_MS", 1000)?),
            cap: Duration::from_millis(var_parsed("JOB_BACKOFF_MAX_MS", 300_000)?),
            in_run_attempts: var_parsed("SYNC_REQUEST_ATTEMPTS", d.in_run_attempts)?.max(1),
            retry_after_cap: Duration::from_secs(var_parsed("RETRY_AFTER_MAX_SECS", 3600)?),
            ..d
        };
        let invalid = |name, reason: &str| ConfigError::Invalid {
            name,
            reason: reason.to_owned(),
        };
        if policy.max_attempts == 0 {
            return Err(invalid("JOB_MAX_ATTEMPTS", "must be at least 1"));
        }
        if policy.cap < policy.base {
            return Err(invalid(
                "JOB_BACKOFF_MAX_MS",
                "must not be below JOB_BACKOFF_BASE_MS",
            ));
        }
        Ok(policy)
    }
}
