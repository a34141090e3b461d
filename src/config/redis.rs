use std::time::Duration;

use secrecy::SecretString;

use super::env::{ConfigError, var, var_parsed};

/// How to reach Redis, which holds the job queue.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// The connection URL; secret because it may carry a password.
    pub url: SecretString,
    /// Longest wait for a TCP connection (and its handshake) to Redis.
    pub connect_timeout: Duration,
}

impl RedisConfig {
    /// Reads:
    /// - `REDIS_URL` (default `redis://127.0.0.1:6379`)
    /// - `REDIS_CONNECT_TIMEOUT_MS` (default 1000)
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            url: var("REDIS_URL")
                .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned())
                .into(),
            connect_timeout: Duration::from_millis(var_parsed("REDIS_CONNECT_TIMEOUT_MS", 1000)?),
        })
    }

    /// A configuration for `url` with the defaults; used by tests and tools.
    pub fn for_url(url: &str) -> Self {
        Self {
            url: url.to_owned().into(),
            connect_timeout: Duration::from_secs(1),
        }
    }
}
