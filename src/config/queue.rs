use std::time::Duration;

use super::env::{ConfigError, var, var_parsed};

/// Where the job queues live in Redis and how jobs are leased and deduplicated (how they
/// are retried is the retry policy's: `crate::retry`).
/// `serve` and `worker` must agree on these (the namespace above all).
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Prefix of every Redis key calsync writes; tests use a random one each.
    pub namespace: String,
    /// How long a worker holds a job without renewing its lease; a worker that dies loses
    /// its jobs to the others after this long.
    pub lease: Duration,
    /// How long an idle worker waits before asking Redis again.
    pub poll_interval: Duration,
    /// How long a channel's state (highest message number recorded, waiting job) is kept
    /// after the channel last got a new job; Google's channel lifetime by default.
    pub dedup_ttl: Duration,
}

impl QueueConfig {
    /// Reads:
    /// - `QUEUE_NAMESPACE` (default `calsync`)
    /// - `QUEUE_LEASE_MS` (default 8000; at least 1000): a killed worker's job runs again
    ///   within about this plus a third of it
    /// - `QUEUE_POLL_INTERVAL_MS` (default 25)
    /// - `QUEUE_DEDUP_TTL_SECS` (default 604800, Google's default channel lifetime)
    pub fn from_env() -> Result<Self, ConfigError> {
        let c = Self {
            namespace: var("QUEUE_NAMESPACE").unwrap_or_else(|| "calsync".to_owned()),
            lease: Duration::from_millis(var_parsed("QUEUE_LEASE_MS", 8_000)?),
            poll_interval: Duration::from_millis(var_parsed("QUEUE_POLL_INTERVAL_MS", 25)?),
            dedup_ttl: Duration::from_secs(var_parsed("QUEUE_DEDUP_TTL_SECS", 604_800)?),
        };
        c.validate()?;
        Ok(c)
    }

    /// The defaults under `namespace`; used by tests and tools.
    pub fn with_namespace(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            lease: Duration::from_secs(8),
            poll_interval: Duration::from_millis(25),
            dedup_ttl: Duration::from_secs(604_800),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, reason: &str| ConfigError::Invalid {
            name,
            reason: reason.to_owned(),
        };
        if self.namespace.contains(char::is_whitespace) {
            return Err(invalid("QUEUE_NAMESPACE", "must not contain whitespace"));
        }
        if self.lease < Duration::from_secs(1) {
            return Err(invalid("QUEUE_LEASE_MS", "must be at least 1000"));
        }
        if self.poll_interval.is_zero() {
            return Err(invalid("QUEUE_POLL_INTERVAL_MS", "must be at least 1"));
        }
        Ok(())
    }
}
