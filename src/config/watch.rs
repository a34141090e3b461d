use std::time::Duration;

use super::env::{ConfigError, required_var, var_parsed};

/// How calsync asks Google for push channels, and when it renews them.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Public HTTPS base of `serve`; Google posts to `<it>/api/webhooks/google-calendar`.
    pub webhook_public_url: String,
    /// Lifetime requested for a channel (Google may grant less; its answer is stored).
    pub channel_ttl: Duration,
    /// A channel expiring within this window is replaced by a new one.
    pub renew_before: Duration,
    /// How often the worker looks for channels to renew.
    pub renewal_interval: Duration,
}

impl WatchConfig {
    /// Reads:
    /// - `WEBHOOK_PUBLIC_URL` (required)
    /// - `CHANNEL_TTL_HOURS` (default 168, Google's documented default of 7 days)
    /// - `CHANNEL_RENEW_BEFORE_HOURS` (default 24)
    /// - `CHANNEL_RENEWAL_INTERVAL_SECS` (default 600)
    pub fn from_env() -> Result<Self, ConfigError> {
        let url = required_var("WEBHOOK_PUBLIC_URL")?;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "WEBHOOK_PUBLIC_URL",
                reason: "must be an http(s) URL (Google requires https in production)".into(),
            });
        }
        let hours = |h: u64| Duration::from_secs(h * 3600);
        Ok(Self {
            webhook_public_url: url.trim_end_matches('/').to_owned(),
            channel_ttl: hours(var_parsed("CHANNEL_TTL_HOURS", 168u64)?.max(1)),
            renew_before: hours(var_parsed("CHANNEL_RENEW_BEFORE_HOURS", 24u64)?),
            renewal_interval: Duration::from_secs(
                var_parsed("CHANNEL_RENEWAL_INTERVAL_SECS", 600u64)?.max(1),
            ),
        })
    }

    /// The address given to Google in watch requests.
    pub fn notification_address(&self) -> String {
        format!("{}/api/webhooks/google-calendar", self.webhook_public_url)
    }
}
