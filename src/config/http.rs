use std::net::SocketAddr;

use super::env::{ConfigError, var_parsed};

/// The HTTP server of `calsync serve`.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub bind_addr: SocketAddr,
    /// actix worker threads; 0 means one per core.
    pub workers: usize,
}

impl HttpConfig {
    /// Reads:
    /// - `BIND_ADDR` (default `127.0.0.1:8080`)
    /// - `HTTP_WORKERS` (default 0: one per core)
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            bind_addr: var_parsed("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            workers: var_parsed("HTTP_WORKERS", 0)?,
        })
    }
}
