use std::time::Duration;

use super::env::{ConfigError, var, var_parsed};

/// The `calsync worker` process.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique per process: it owns the process's job leases.
    pub name: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// After SIGTERM, how long running jobs may take to finish before they are handed back
    /// to the queue and the process exits.
    pub shutdown_grace: Duration,
}

impl WorkerConfig {
    /// Reads:
    /// - `WORKER_NAME` (default `<hostname>-<pid>-<random>`; a suffix is always added so a
    ///   restart never reuses a name)
    /// - `WORKER_CONCURRENCY` (default 4)
    /// - `WORKER_SHUTDOWN_GRACE_SECS` (default 30)
    pub fn from_env() -> Result<Self, ConfigError> {
        let concurrency = var_parsed("WORKER_CONCURRENCY", 4usize)?;
        if concurrency == 0 {
            return Err(ConfigError::Invalid {
                name: "WORKER_CONCURRENCY",
                reason: "must be at least 1".into(),
            });
        }
        let base = var("WORKER_NAME")
            .unwrap_or_else(|| var("HOSTNAME").unwrap_or_else(|| "worker".to_owned()));
        Ok(Self {
            name: unique_name(&base),
            concurrency,
            shutdown_grace: Duration::from_secs(var_parsed("WORKER_SHUTDOWN_GRACE_SECS", 30)?),
        })
    }
}

/// `base` made unique to this process start.
pub fn unique_name(base: &str) -> String {
    let suffix: u32 = rand::random();
    format!("{base}-{}-{suffix:08x}", std::process::id())
}
