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
        Err(token_error(status, &headers, &body))
    }
}

/// What the token endpoint answers to an authorization code. `Debug` hides the tokens.
pub struct CodeGrant {
    pub access_token: SecretString,
    /// Absent when Google did not issue one (a consent that was not new).
    pub refresh_token: Option<SecretString>,
    /// The scopes actually granted (the user may have unticked some), space-separated.
    pub scope: String,
}

impl std::fmt::Debug for CodeGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeGrant")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| ".."))
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl CodeGrant {
    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split_whitespace().any(|s| s == scope)
    }
}

#[derive(Deserialize)]
struct CodeResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: String,
}

/// The Google account behind a token (OpenID Connect userinfo).
#[derive(Debug, Clone, Deserialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
}

impl OAuthClient {
    /// The OAuth client id (the authorization request names it).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Exchanges an authorization code, with its PKCE verifier and the exact redirect URI
    /// of the authorization request.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<CodeGrant, GoogleError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect_uri),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        let (status, headers, body) =
            exchange(self.http.post(&self.token_url).form(&form), self.max_body).await?;
        if status.is_success() {
            let parsed: CodeResponse =
                serde_json::from_slice(&body).map_err(|e| GoogleError::Decode(e.to_string()))?;
            return Ok(CodeGrant {
                access_token: parsed.access_token.into(),
                refresh_token: parsed.refresh_token.map(Into::into),
                scope: parsed.scope,
            });
        }
        Err(token_error(status, &headers, &body))
    }

    /// The account a token belongs to (`GOOGLE_OAUTH_USERINFO_URL`).
    pub async fn userinfo(&self, url: &str, access_token: &str) -> Result<UserInfo, GoogleError> {
        let (status, headers, body) =
            exchange(self.http.get(url).bearer_auth(access_token), self.max_body).await?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| GoogleError::Decode(e.to_string()));
        }
        Err(super::classify(status, &headers, &body))
    }

    /// Revokes a token (and with it the grant) at `GOOGLE_OAUTH_REVOKE_URL`. A token Google
    /// no longer knows (400 `invalid_token`) is already revoked: that is success.
    pub async fn revoke(&self, url: &str, token: &str) -> Result<(), GoogleError> {
        let (status, headers, body) =
            exchange(self.http.post(url).form(&[("token", token)]), self.max_body).await?;
        if status.is_success() {
            return Ok(());
        }
        let error = serde_json::from_slice::<OAuthErrorBody>(&body)
            .map(|b| b.error)
            .unwrap_or_default();
        if status == StatusCode::BAD_REQUEST && error == "invalid_token" {
            return Ok(());
        }
        Err(token_error(status, &headers, &body))
    }
}

fn token_error(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> GoogleError {
    let error = serde_json::from_slice::<OAuthErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_default();
    match (status, error.as_str()) {
        (_, "invalid_grant") => GoogleError::GrantRevoked,
        (_, "invalid_client" | "unauthorized_client") => GoogleError::ClientRejected(error),
        (StatusCode::TOO_MANY_REQUESTS, _) => GoogleError::RateLimited {
            retry_after: retry_after(headers, Utc::now()),
            scope: super::error::RateScope::Project,
        },
        (s, _) if s.is_server_error() => GoogleError::Transient(format!("token endpoint HTTP {s}")),
        (s, e) => GoogleError::Rejected {
            status: s.as_u16(),
            reason: e.to_owned(),
            message: "token request refused".into(),
        },
    }
}
