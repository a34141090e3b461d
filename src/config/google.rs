use std::time::Duration;

use secrecy::SecretString;

use super::env::{ConfigError, required_var, var, var_parsed};

/// Where and as whom calsync talks to Google. Every URL is configurable so tests and demos
/// can point them at the emulator.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// Calendar API base, without a trailing slash.
    pub api_base_url: String,
    pub oauth_token_url: String,
    pub oauth_auth_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Bound on each HTTP request to Google.
    pub request_timeout: Duration,
}

impl GoogleConfig {
    /// Reads:
    /// - `GOOGLE_API_BASE_URL` (default `https://www.googleapis.com/calendar/v3`)
    /// - `GOOGLE_OAUTH_TOKEN_URL` (default `https://oauth2.googleapis.com/token`)
    /// - `GOOGLE_OAUTH_AUTH_URL` (default `https://accounts.google.com/o/oauth2/v2/auth`)
    /// - `GOOGLE_CLIENT_ID`, `GOOGLE_CLIENT_SECRET` (required)
    /// - `GOOGLE_REQUEST_TIMEOUT_MS` (default 15000)
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            api_base_url: trim_slash(
                var("GOOGLE_API_BASE_URL")
                    .unwrap_or_else(|| "https://www.googleapis.com/calendar/v3".into()),
            ),
            oauth_token_url: var("GOOGLE_OAUTH_TOKEN_URL")
                .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
            oauth_auth_url: var("GOOGLE_OAUTH_AUTH_URL")
                .unwrap_or_else(|| "https://accounts.google.com/o/oauth2/v2/auth".into()),
            client_id: required_var("GOOGLE_CLIENT_ID")?,
            client_secret: required_var("GOOGLE_CLIENT_SECRET")?.into(),
            request_timeout: Duration::from_millis(var_parsed(
                "GOOGLE_REQUEST_TIMEOUT_MS",
                15_000u64,
            )?),
        })
    }

    /// A configuration pointing every endpoint at `api_base_url` / `token_url` (tests).
    pub fn for_endpoints(
        api_base_url: &str,
        token_url: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        Self {
            api_base_url: trim_slash(api_base_url.to_owned()),
            oauth_token_url: token_url.to_owned(),
            oauth_auth_url: String::new(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned().into(),
            request_timeout: Duration::from_secs(10),
        }
    }
}

fn trim_slash(mut url: String) -> String {
    while url.ends_with('/') {
        url.pop();
    }
    url
}
