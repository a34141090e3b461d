//! OAuth state: registered clients, what each user granted each client, pending consent
//! requests, single-use authorization codes (bound to client, redirect URI and PKCE
//! challenge), refresh-token grants and access tokens.
//!
//! Client authentication (id and secret) is checked by [`Store::check_client`] before the
//! grants run.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, random_token};
use crate::errors::{ControlError, OAuthError};
use crate::scopes::{self, TokenScopes};

/// A registered OAuth client (a "Web application" client in Google's console).
#[derive(Debug, Clone)]
pub struct OAuthClient {
    /// Client secret.
    pub secret: String,
    /// Authorized redirect URIs; a request's `redirect_uri` must equal one exactly.
    pub redirect_uris: Vec<String>,
}

/// A refresh token's grant: who consented, for which client and scopes.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The consenting user.
    pub email: String,
    /// Client the grant was issued to.
    pub client_id: String,
    /// Granted scopes, normalized.
    pub scopes: BTreeSet<String>,
    /// Revoked grants answer `invalid_grant`.
    pub revoked: bool,
    /// Whether the refresh token was handed to the client (online exchanges and re-consents
    /// that omit the refresh token keep an internal grant for their access tokens).
    pub issued: bool,
}

/// What one user has granted one client, across consents (Google's "third-party access" entry).
#[derive(Debug, Clone, Default)]
pub struct AppAuthorizationEntry {
    scopes: BTreeSet<String>,
    /// A refresh token was issued since the last revocation.
    offline: bool,
    revoked: bool,
}

/// What a user granted a client, as the control API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantInfo {
    /// The OAuth client.
    pub client_id: String,
    /// Scopes granted (normalized: `email` reads `https://www.googleapis.com/auth/userinfo.email`).
    pub scopes: Vec<String>,
    /// Whether the user (or the app, through `/revoke`) removed the app's access.
    pub revoked: bool,
    /// Live refresh tokens handed to the client, oldest first (empty once revoked).
    pub refresh_tokens: Vec<String>,
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

/// A PKCE challenge (RFC 7636).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `code_challenge_method=S256`.
    S256(String),
    /// `code_challenge_method=plain` (Google's default when a challenge comes without a method).
    Plain(String),
}

impl Challenge {
    fn matches(&self, verifier: &str) -> bool {
        match self {
            Challenge::S256(c) => {
                let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
                URL_SAFE_NO_PAD.encode(digest.as_ref()) == *c
            }
            Challenge::Plain(c) => c == verifier,
        }
    }
}

/// An authorization request waiting on the consent page.
#[derive(Debug, Clone)]
pub struct ConsentRequest {
    /// The requesting client.
    pub client_id: String,
    /// `redirect_uri`, already checked against the client's registered URIs.
    pub redirect_uri: String,
    /// Requested scopes, normalized, in request order.
    pub requested: Vec<String>,
    /// `state`, echoed back.
    pub state: Option<String>,
    /// PKCE challenge.
    pub challenge: Option<Challenge>,
    /// `access_type=offline`.
    pub offline: bool,
    /// `prompt` contains `consent`.
    pub prompt_consent: bool,
    /// `include_granted_scopes=true`.
    pub include_granted_scopes: bool,
    /// `nonce`, copied into the id_token.
    pub nonce: Option<String>,
}

/// A pending authorization code.
#[derive(Debug, Clone)]
pub struct AuthCode {
    email: String,
    request: ConsentRequest,
    scopes: BTreeSet<String>,
    expires_at: DateTime<Utc>,
}

/// A successful token-endpoint answer.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The user.
    pub email: String,
    /// The client.
    pub client_id: String,
    /// The new access token.
    pub access_token: String,
    /// Its lifetime in whole seconds (rounded up).
    pub expires_in: u64,
    /// On a code exchange with `access_type=offline`, unless Google would omit it.
    pub refresh_token: Option<String>,
    /// Granted scopes.
    pub scopes: BTreeSet<String>,
    /// The authorization request's `nonce` (code exchanges only).
    pub nonce: Option<String>,
}

fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn bad_request() -> OAuthError {
    OAuthError::new(400, "invalid_grant", "Bad Request")
}

impl Store {
    /// Registers (or replaces) an OAuth client.
    pub fn add_client(&mut self, client_id: &str, secret: &str, redirect_uris: &[String]) {
        self.clients.insert(
            client_id.to_owned(),
            OAuthClient {
                secret: secret.to_owned(),
                redirect_uris: redirect_uris.to_vec(),
            },
        );
    }

    /// Adds an authorized redirect URI to a client.
    pub fn register_redirect_uri(
        &mut self,
        client_id: &str,
        uri: &str,
    ) -> Result<(), ControlError> {
        let client = self
            .clients
            .get_mut(client_id)
            .ok_or_else(|| ControlError::UnknownClient(client_id.to_owned()))?;
        if !client.redirect_uris.iter().any(|u| u == uri) {
            client.redirect_uris.push(uri.to_owned());
        }
        Ok(())
    }

    /// A registered client.
    pub fn client(&self, client_id: &str) -> Option<&OAuthClient> {
        self.clients.get(client_id)
    }

    /// Client authentication at the token endpoint.
    pub fn check_client(&self, client_id: &str, secret: &str) -> Result<(), OAuthError> {
        match self.clients.get(client_id) {
            None => Err(OAuthError::invalid_client()),
            Some(c) if c.secret != secret => {
                Err(OAuthError::new(401, "invalid_client", "Unauthorized"))
            }
            Some(_) => Ok(()),
        }
    }

    /// Adds a grant and records it in the user's authorization of the client.
    pub(super) fn insert_grant(
        &mut self,
        refresh_token: &str,
        email: &str,
        client_id: &str,
        scopes: BTreeSet<String>,
        issued: bool,
    ) {
        let auth = self
            .authorizations
            .entry((email.to_owned(), client_id.to_owned()))
            .or_default();
        if auth.revoked {
            *auth = AppAuthorizationEntry::default();
        }
        auth.scopes.extend(scopes.iter().cloned());
        auth.offline |= issued;
        if issued {
            self.refresh_token_order.push(refresh_token.to_owned());
        }
        self.grants.insert(
            refresh_token.to_owned(),
            Grant {
                email: email.to_owned(),
                client_id: client_id.to_owned(),
                scopes,
                revoked: false,
                issued,
            },
        );
    }

    /// Scopes the user currently grants the client (empty after a revocation).
    pub fn granted_scopes(&self, email: &str, client_id: &str) -> BTreeSet<String> {
        match self
            .authorizations
            .get(&(email.to_owned(), client_id.to_owned()))
        {
            Some(a) if !a.revoked => a.scopes.clone(),
            _ => BTreeSet::new(),
        }
    }

    /// Parks an authorization request until the consent form is answered; returns its id.
    pub fn park_consent(&mut self, request: ConsentRequest) -> String {
        let id = random_token(18);
        self.consent_requests.insert(id.clone(), request);
        id
    }

    /// Takes a parked request (each can be answered once).
    pub fn take_consent(&mut self, id: &str) -> Option<ConsentRequest> {
        self.consent_requests.remove(id)
    }

    /// Records consent and returns a single-use authorization code.
    pub fn issue_code(
        &mut self,
        email: &str,
        request: ConsentRequest,
        scopes: BTreeSet<String>,
        lifetime: Duration,
        now: DateTime<Utc>,
    ) -> String {
        let auth = self
            .authorizations
            .entry((email.to_owned(), request.client_id.clone()))
            .or_default();
        if auth.revoked {
            *auth = AppAuthorizationEntry::default();
        }
        auth.scopes.extend(scopes.iter().cloned());
        let code = format!("4/0{}", random_token(36));
        let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
        self.auth_codes.insert(
            code.clone(),
            AuthCode {
                email: email.to_owned(),
                request,
                scopes,
                expires_at: now
                    .checked_add_signed(lifetime)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            },
        );
        code
    }

    /// The next `count` code exchanges that would hand out a refresh token answer without one.
    pub fn withhold_refresh_tokens(&mut self, count: u32) {
        self.withheld_refresh_tokens = count;
    }

    /// The `refresh_token` grant.
    pub fn refresh(
        &mut self,
        client_id: &str,
        refresh_token: &str,
        lifetime: Duration,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, OAuthError> {
        let grant = match self.grants.get(refresh_token) {
            Some(g) if !g.revoked && g.issued => g.clone(),
            _ => return Err(OAuthError::revoked()),
        };
        if grant.client_id != client_id {
            return Err(OAuthError::new(400, "unauthorized_client", "Unauthorized"));
        }
        let access_token = self.issue_access_token(&grant.email, refresh_token, lifetime, now);
        Ok(TokenGrant {
            email: grant.email,
            client_id: grant.client_id,
            access_token,
            expires_in: whole_seconds(lifetime),
            refresh_token: None,
            scopes: grant.scopes,
            nonce: None,
        })
    }

    /// The `authorization_code` grant. The code is consumed even when the exchange fails, as a
    /// replayed code must never work.
    pub fn exchange_code(
        &mut self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        lifetime: Duration,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, OAuthError> {
        let Some(pending) = self.auth_codes.remove(code) else {
            return Err(if self.used_codes.contains(code) {
                bad_request()
            } else {
                OAuthError::new(400, "invalid_grant", "Malformed auth code.")
            });
        };
        self.used_codes.insert(code.to_owned());
        let request = &pending.request;
        if pending.expires_at <= now || request.client_id != client_id {
            return Err(bad_request());
        }
        if redirect_uri != Some(request.redirect_uri.as_str()) {
            return Err(OAuthError::new(400, "redirect_uri_mismatch", "Bad Request"));
        }
        match (&request.challenge, code_verifier) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(OAuthError::new(
                    400,
                    "invalid_grant",
                    "code_verifier or verifier is not needed.",
                ));
            }
            (Some(_), None) => {
                return Err(OAuthError::new(
                    400,
                    "invalid_grant",
                    "Missing code verifier.",
                ));
            }
            (Some(challenge), Some(verifier)) => {
                if !challenge.matches(verifier) {
                    return Err(OAuthError::new(
                        400,
                        "invalid_grant",
                        "Invalid code verifier.",
                    ));
                }
            }
        }
        // Google hands out a refresh token on the first offline consent, and again whenever
        // the user is made to consent anew (`prompt=consent`); a re-consent that skipped the
        // prompt omits it (the client still holds the earlier one).
        let had_offline = self
            .authorizations
            .get(&(pending.email.clone(), client_id.to_owned()))
            .is_some_and(|a| a.offline && !a.revoked);
        let mut issue_refresh = request.offline && (request.prompt_consent || !had_offline);
        if issue_refresh && self.withheld_refresh_tokens > 0 {
            self.withheld_refresh_tokens -= 1;
            issue_refresh = false;
        }
        let refresh_token = format!("1//0{}", random_token(48));
        let nonce = request.nonce.clone();
        self.insert_grant(
            &refresh_token,
            &pending.email,
            client_id,
            pending.scopes.clone(),
            issue_refresh,
        );
        let access_token = self.issue_access_token(&pending.email, &refresh_token, lifetime, now);
        Ok(TokenGrant {
            email: pending.email,
            client_id: client_id.to_owned(),
            access_token,
            expires_in: whole_seconds(lifetime),
            refresh_token: issue_refresh.then_some(refresh_token),
            scopes: pending.scopes,
            nonce,
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

    /// The user and scopes of an access token, if it is known, unexpired and its grant is live.
    pub fn authenticate(
        &self,
        access_token: &str,
        now: DateTime<Utc>,
    ) -> Option<(String, TokenScopes)> {
        let token = self.access_tokens.get(access_token)?;
        let grant = self
            .grants
            .get(&token.refresh_token)
            .filter(|g| !g.revoked)?;
        (token.expires_at > now).then(|| {
            (
                token.email.clone(),
                TokenScopes {
                    scopes: grant.scopes.clone(),
                    client_id: grant.client_id.clone(),
                },
            )
        })
    }

    /// Removes a client's access to a user's account: every refresh token and access token
    /// of that pair stops working, and the granted scopes are forgotten.
    fn revoke_authorization(&mut self, email: &str, client_id: &str) {
        for grant in self.grants.values_mut() {
            if grant.email == email && grant.client_id == client_id {
                grant.revoked = true;
            }
        }
        let auth = self
            .authorizations
            .entry((email.to_owned(), client_id.to_owned()))
            .or_default();
        auth.revoked = true;
        auth.offline = false;
    }

    /// Revokes a grant (as the user would in their Google account settings, which removes the
    /// app's access altogether). Access tokens issued from it stop working at once.
    pub fn revoke_grant(&mut self, refresh_token: &str) -> Result<(), ControlError> {
        let grant = self
            .grants
            .get(refresh_token)
            .ok_or(ControlError::UnknownRefreshToken)?;
        let (email, client) = (grant.email.clone(), grant.client_id.clone());
        self.revoke_authorization(&email, &client);
        Ok(())
    }

    /// What Google's `/revoke` endpoint does: a refresh token or an access token revokes the
    /// app's access. Returns false if the token is unknown or already revoked.
    pub fn revoke_any_token(&mut self, token: &str) -> bool {
        let refresh = match self.access_tokens.get(token) {
            Some(at) => at.refresh_token.clone(),
            None => token.to_owned(),
        };
        let live = match self.grants.get(&refresh) {
            Some(g) if !g.revoked && (g.issued || refresh != token) => {
                Some((g.email.clone(), g.client_id.clone()))
            }
            _ => None,
        };
        match live {
            Some((email, client)) => {
                self.revoke_authorization(&email, &client);
                true
            }
            None => false,
        }
    }

    /// Makes every issued access token expired, so the next API call answers 401.
    pub fn expire_access_tokens(&mut self, now: DateTime<Utc>) {
        for token in self.access_tokens.values_mut() {
            token.expires_at = token.expires_at.min(now);
        }
    }

    /// What the user has granted each client.
    pub fn grants_of(&self, email: &str) -> Vec<GrantInfo> {
        let mut out: Vec<GrantInfo> = self
            .authorizations
            .iter()
            .filter(|((e, _), _)| e == email)
            .map(|((_, client), auth)| GrantInfo {
                client_id: client.clone(),
                scopes: auth.scopes.iter().cloned().collect(),
                revoked: auth.revoked,
                refresh_tokens: Vec::new(),
            })
            .collect();
        out.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        for info in &mut out {
            info.refresh_tokens = self
                .refresh_token_order
                .iter()
                .filter(|t| {
                    self.grants.get(*t).is_some_and(|g| {
                        g.issued && !g.revoked && g.email == email && g.client_id == info.client_id
                    })
                })
                .cloned()
                .collect();
        }
        out
    }
}

/// Scopes the control API's refresh tokens carry.
pub fn parse_configured_scope(raw: &str) -> BTreeSet<String> {
    raw.split_whitespace()
        .map(|s| scopes::normalize(s).unwrap_or_else(|| s.to_owned()))
        .collect()
}
