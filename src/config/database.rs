use std::time::Duration;

use secrecy::SecretString;

use super::env::{ConfigError, required_var, var_parsed};

/// How to reach PostgreSQL.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// The connection URL; secret because it usually carries a password.
    pub url: SecretString,
    /// Most connections the pool opens.
    pub pool_size: u32,
    /// Longest wait for a free pooled connection before an operation fails.
    pub checkout_timeout: Duration,
}

impl DatabaseConfig {
    /// Reads:
    /// - `DATABASE_URL` (required)
    /// - `DATABASE_POOL_SIZE` (default 10)
    /// - `DATABASE_CHECKOUT_TIMEOUT_MS` (default 2000)
    pub fn from_env() -> Result<Self, ConfigError> {
        let pool_size = var_parsed("DATABASE_POOL_SIZE", 10u32)?;
        if pool_size == 0 {
            return Err(ConfigError::Invalid {
                name: "DATABASE_POOL_SIZE",
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self {
            url: required_var("DATABASE_URL")?.into(),
            pool_size,
            checkout_timeout: Duration::from_millis(var_parsed(
                "DATABASE_CHECKOUT_TIMEOUT_MS",
                2000u64,
            )?),
        })
    }

    /// A configuration for `url` with the defaults; used by tests and tools.
    pub fn for_url(url: &str) -> Self {
        Self {
            url: url.to_owned().into(),
            pool_size: 10,
            checkout_timeout: Duration::from_secs(2),
        }
    }
}
