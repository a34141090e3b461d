//! OAuth state: refresh-token grants, access tokens and single-use authorization codes.
//! Client authentication (id and secret) is checked by the HTTP layer before these run.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Store, random_token};
use crate::errors::{ControlError, OAuthError};

/// A refresh token's grant: who consented, for which client and scopes.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The consenting user.
    pub email: String,
    /// Client the grant was issued to.
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Revoked grants answer `invalid_grant`.
    pub revoked: bool,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The user the token acts for.
    pub email: String,
    /// The grant it came from, so revoking the grant kills it too.
    pub refresh_token: String,
    /// After this instant the Calendar endpoints answer 401.
    pub expires_at: DateTime<Utc>,
}

/// A pending authorization code.
#[derive(Debug, Clone)]
pub struct AuthCode {
    email: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    offline: bool,
    expires_at: DateTime<Utc>,
}

/// A successful token-endpoint answer.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The new access token.
    pub access_token: String,
    /// Its lifetime in whole seconds (rounded up).
    pub expires_in: u64,
    /// Only on a code exchange with `access_type=offline`.
    pub refresh_token: Option<String>,
    /// Granted scopes.
    pub scope: String,
}

/// Authorization codes live this long, as Google's do (about ten minutes).
const CODE_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

impl Store {
    /// The `refresh_token` grant.
    pub fn refresh(
        &mut self,
        client_id: &str,
        refresh_token: &str,
        lifetime: Duration,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, OAuthError> {
        let grant = match self.grants.get(refresh_token) {
            Some(g) if !g.revoked => g.clone(),
            _ => return Err(OAuthError::revoked()),
        };
        if grant.client_id != client_id {
            return Err(OAuthError::new(400, "unauthorized_client", "Unauthorized"));
        }
        let access_token = self.issue_access_token(&grant.email, refresh_token, lifetime, now);
        Ok(TokenGrant {
            access_token,
            expires_in: lifetime.as_secs() + u64::from(lifetime.subsec_nanos() > 0),
            refresh_token: None,
            scope: grant.scope,
        })
    }

    /// Records consent and returns a single-use authorization code.
    pub fn issue_code(
        &mut self,
        email: &str,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
        offline: bool,
        now: DateTime<Utc>,
    ) -> String {
        let code = format!("4/{}", random_token(24));
        self.auth_codes.insert(
            code.clone(),
            AuthCode {
                email: email.to_owned(),
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                scope: scope.to_owned(),
                offline,
                expires_at: now + CODE_LIFETIME,
            },
        );
        code
    }

    /// The `authorization_code` grant. The code is consumed even when the exchange fails, as a
    /// replayed code must never work.
    pub fn exchange_code(
        &mut self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        lifetime: Duration,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, OAuthError> {
        let Some(pending) = self.auth_codes.remove(code) else {
            return Err(OAuthError::new(
                400,
                "invalid_grant",
                "Malformed auth code.",
            ));
        };
        if pending.expires_at <= now || pending.client_id != client_id {
            return Err(OAuthError::new(400, "invalid_grant", "Bad Request"));
        }
        if redirect_uri != Some(pending.redirect_uri.as_str()) {
            return Err(OAuthError::new(400, "redirect_uri_mismatch", "Bad Request"));
        }
        // Online-only consent yields no refresh token; the access token still needs a grant to
        // hang off so that revocation can find it.
        let refresh_token = format!("1//{}", random_token(32));
        self.grants.insert(
            refresh_token.clone(),
            Grant {
                email: pending.email.clone(),
                client_id: client_id.to_owned(),
                scope: pending.scope.clone(),
                revoked: false,
            },
        );
        let access_token = self.issue_access_token(&pending.email, &refresh_token, lifetime, now);
        Ok(TokenGrant {
            access_token,
            expires_in: lifetime.as_secs() + u64::from(lifetime.subsec_nanos() > 0),
            refresh_token: pending.offline.then_some(refresh_token),
            scope: pending.scope,
        })
    }

    fn issue_access_token(
        &mut self,
        email: &str,
        refresh_token: &str,
        lifetime: Duration,
        now: DateTime<Utc>,
    ) -> String {
        let token = format!("ya29.{}", random_token(40));
        let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
        self.access_tokens.insert(
            token.clone(),
            AccessToken {
                email: email.to_owned(),
                refresh_token: refresh_token.to_owned(),
                expires_at: now
                    .checked_add_signed(lifetime)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            },
        );
        token
    }

    /// The user an access token acts for, if it is known, unexpired and its grant is live.
    pub fn authenticate(&self, access_token: &str, now: DateTime<Utc>) -> Option<String> {
        let token = self.access_tokens.get(access_token)?;
        let grant_live = self
            .grants
            .get(&token.refresh_token)
            .is_some_and(|g| !g.revoked);
        (token.expires_at > now && grant_live).then(|| token.email.clone())
    }

    /// Revokes a grant (as the user would in their Google account settings). Access tokens
    /// issued from it stop working at once.
    pub fn revoke_grant(&mut self, refresh_token: &str) -> Result<(), ControlError> {
        let grant = self
            .grants
            .get_mut(refresh_token)
            .ok_or(ControlError::UnknownRefreshToken)?;
        grant.revoked = true;
        Ok(())
    }

    /// What Google's `/revoke` endpoint does: a refresh token or an access token revokes the
    /// whole grant. Returns false if the token is unknown or already revoked.
    pub fn revoke_any_token(&mut self, token: &str) -> bool {
        let refresh = match self.access_tokens.get(token) {
            Some(at) => at.refresh_token.clone(),
            None => token.to_owned(),
        };
        match self.grants.get_mut(&refresh) {
            Some(grant) if !grant.revoked => {
                grant.revoked = true;
                true
            }
            _ => false,
        }
    }

    /// Makes every issued access token expired, so the next API call answers 401.
    pub fn expire_access_tokens(&mut self, now: DateTime<Utc>) {
        for token in self.access_tokens.values_mut() {
            token.expires_at = token.expires_at.min(now);
        }
    }
}
