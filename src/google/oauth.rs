//! The OAuth token endpoint: exchanging a refresh token for an access token.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::{GoogleError, exchange, retry_after};

/// An access token and when it stops working. `Debug` hides the token.
#[derive(Clone)]
pub struct AccessToken {
    pub token: SecretString,
    pub expires_at: DateTime<Utc>,
    pub scope: String,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: i64,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
}

/// Talks to `GOOGLE_OAUTH_TOKEN_URL` with the app's client credentials.
#[derive(Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    max_body: usize,
}

impl OAuthClient {
    pub fn new(
        http: reqwest::Client,
        token_url: &str,
        client_id: &str,
        client_secret: SecretString,
        max_body: usize,
    ) -> Self {
        Self {
            http,
            token_url: token_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            max_body,
        }
    }

    /// Exchanges `refresh_token` for a fresh access token.
    ///
    /// Returns `GrantRevoked` for `invalid_grant`, `ClientRejected` for a bad client,
    /// `RateLimited`/`Transient` for what may pass.
    pub async fn refresh(&self, refresh_token: &str) -> Result<AccessToken, GoogleError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        let (status, headers, body) =
            exchange(self.http.post(&self.token_url).form(&form), self.max_body).await?;
        if status.is_success() {
            let parsed: TokenResponse =
                serde_json::from_slice(&body).map_err(|e| GoogleError::Decode(e.to_string()))?;
            let lifetime = Duration::from_secs(parsed.expires_in.max(0).unsigned_abs());
            return Ok(AccessToken {
                token: parsed.access_token.into(),
                expires_at: Utc::now() + lifetime,
                scope: parsed.scope,
            });
        }
        let error = serde_json::from_slice::<OAuthErrorBody>(&body)
            .map(|b| b.error)
            .unwrap_or_default();
        Err(match (status, error.as_str()) {
            (_, "invalid_grant") => GoogleError::GrantRevoked,
            (_, "invalid_client" | "unauthorized_client") => GoogleError::ClientRejected(error),
            (StatusCode::TOO_MANY_REQUESTS, _) => GoogleError::RateLimited {
                retry_after: retry_after(&headers, Utc::now()),
                scope: super::error::RateScope::Project,
            },
            (s, _) if s.is_server_error() => {
                GoogleError::Transient(format!("token endpoint HTTP {s}"))
            }
            (s, e) => GoogleError::Rejected {
                status: s.as_u16(),
                reason: e.to_owned(),
                message: "token request refused".into(),
            },
        })
    }
}
