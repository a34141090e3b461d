use std::net::SocketAddr;

use super::env::{ConfigError, var_parsed};

/// The HTTP server of `calsync serve`.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The public listener: the webhook and `/healthz`.
    pub bind_addr: SocketAddr,
    /// The operational listener: `/healthz`, `/readyz` and `/metrics`. Keep it off the
    /// public network.
    pub admin_bind_addr: SocketAddr,
    /// actix worker threads; 0 means one per core.
    pub workers: usize,
}

impl HttpConfig {
    /// Reads:
    /// - `BIND_ADDR` (default `127.0.0.1:8080`)
    /// - `ADMIN_BIND_ADDR` (default `127.0.0.1:9090`)
    /// - `HTTP_WORKERS` (default 0: one per core)
    pub fn from_env() -> Result<Self, ConfigError> {
        let bind_addr = var_parsed("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
        let admin_bind_addr =
            var_parsed("ADMIN_BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 9090)))?;
        if admin_bind_addr == bind_addr && bind_addr.port() != 0 {
            return Err(ConfigError::Invalid {
                name: "ADMIN_BIND_ADDR",
                reason: "must differ from BIND_ADDR: the admin endpoints stay off the public port"
                    .into(),
            });
        }
        Ok(Self {
            bind_addr,
            admin_bind_addr,
            workers: var_parsed("HTTP_WORKERS", 0)?,
        })
    }
}
