use std::time::Duration;

use secrecy::SecretString;

use super::env::{ConfigError, required_var, var, var_parsed};

/// The Google Calendar webhook: how tokens are checked and how long recording may take.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Signs channel tokens (see `channel_token`).
    pub channel_token_secret: SecretString,
    /// The secret before a rotation; its tokens stay valid until every channel renews.
    pub channel_token_secret_previous: Option<SecretString>,
    /// Longest wait for Redis to record a notification before answering 503.
    pub enqueue_timeout: Duration,
    /// Largest request body accepted (bodies are never parsed).
    pub max_body_bytes: usize,
    /// Most channels remembered in memory whose notification could not be recorded (answered
    /// 5xx), each synced once the queue answers again.
    pub unrecorded_channels_max: usize,
}

impl WebhookConfig {
    /// Reads:
    /// - `CHANNEL_TOKEN_SECRET` (required; at least 32 characters)
    /// - `CHANNEL_TOKEN_SECRET_PREVIOUS` (optional)
    /// - `WEBHOOK_ENQUEUE_TIMEOUT_MS` (default 1000)
    /// - `WEBHOOK_MAX_BODY_BYTES` (default 4096)
    /// - `WEBHOOK_UNRECORDED_CHANNELS_MAX` (default 10000)
    pub fn from_env() -> Result<Self, ConfigError> {
        let secret = required_var("CHANNEL_TOKEN_SECRET")?;
        check_secret("CHANNEL_TOKEN_SECRET", &secret)?;
        let previous = var("CHANNEL_TOKEN_SECRET_PREVIOUS");
        if let Some(p) = &previous {
            check_secret("CHANNEL_TOKEN_SECRET_PREVIOUS", p)?;
        }
        Ok(Self {
            channel_token_secret: secret.into(),
            channel_token_secret_previous: previous.map(Into::into),
            enqueue_timeout: Duration::from_millis(var_parsed("WEBHOOK_ENQUEUE_TIMEOUT_MS", 1000)?),
            max_body_bytes: var_parsed("WEBHOOK_MAX_BODY_BYTES", 4096)?,
            unrecorded_channels_max: var_parsed("WEBHOOK_UNRECORDED_CHANNELS_MAX", 10_000)?,
        })
    }

    /// The defaults with `secret`; used by tests and tools.
    pub fn with_secret(secret: &str) -> Self {
        Self {
            channel_token_secret: secret.to_owned().into(),
            channel_token_secret_previous: None,
            enqueue_timeout: Duration::from_secs(1),
            max_body_bytes: 4096,
            unrecorded_channels_max: 10_000,
        }
    }
}

fn check_secret(name: &'static str, value: &str) -> Result<(), ConfigError> {
    // The value is never echoed: only its required shape.
    if value.len() < 32 {
        return Err(ConfigError::Invalid {
            name,
            reason: "must be at least 32 characters (e.g. `openssl rand -base64 32`)".into(),
        });
    }
    Ok(())
}
