//! A user's authorised access to Google: the access token comes from the cache in
//! `google_credentials` while it has at least a minute left, otherwise from the token
//! endpoint with the user's sealed refresh token (and is cached again, sealed). A 401 from the
//! API refreshes once and retries once. A row sealed under an older key (or an older binding)
//! is re-sealed under the current key when it is opened, so its access token is cached again
//! and the old key can go once `calsync credentials reseal` has seen to the rest.

use std::future::Future;

use chrono::{Duration, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::AccountError;
use crate::config::GoogleConfig;
use crate::crypto::TokenCipher;
use crate::db::models::CredentialStatus;
use crate::db::models::google_credential::{self, OpenedCredential};
use crate::db::{Db, DbError};
use crate::google::{
    Calendar, CalendarApi, Event, EventsPage, GoogleError, GoogleLimits, ListQuery, OAuthClient,
    WatchChannel, WatchRequest,
};
use crate::ids::UserId;
use crate::quota::{Cost, Quota};

/// A cached access token is used only while it stays valid at least this long.
const EXPIRY_MARGIN: Duration = Duration::seconds(60);

/// Everything needed to act for any user: the API and token clients, the database and the
/// key that opens sealed tokens.
#[derive(Clone)]
pub struct GoogleAccounts {
    api: CalendarApi,
    oauth: OAuthClient,
    limits: GoogleLimits,
    db: Db,
    cipher: TokenCipher,
    /// The fleet's shared quota; `None` sends without asking (tests of other concerns).
    quota: Option<Quota>,
}

impl GoogleAccounts {
    pub fn new(config: &GoogleConfig, db: Db, cipher: TokenCipher) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("calsync/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            api: CalendarApi::new(
                http.clone(),
                &config.api_base_url,
                config.limits.max_body_bytes,
            )?,
            oauth: OAuthClient::new(
                http,
                &config.oauth_token_url,
                &config.client_id,
                config.client_secret.clone(),
                config.limits.max_body_bytes,
            ),
            limits: config.limits,
            db,
            cipher,
            quota: None,
        })
    }

    /// These accounts with every Calendar request taking room in `quota` first.
    #[must_use]
    pub fn with_quota(mut self, quota: Quota) -> Self {
        self.quota = Some(quota);
        self
    }

    /// The shared quota, when there is one.
    pub fn quota(&self) -> Option<&Quota> {
        self.quota.as_ref()
    }

    /// A session acting for `user_id`. Cheap; make one per job.
    pub fn session(&self, user_id: UserId) -> UserSession {
        UserSession {
            accounts: self.clone(),
            user_id,
            token: None,
        }
    }
}

/// Calls made for one user, holding their access token for the session's life.
pub struct UserSession {
    accounts: GoogleAccounts,
    user_id: UserId,
    token: Option<SecretString>,
}

impl UserSession {
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// Fails once a listing has read more pages or events than the configured caps
    /// (`SYNC_MAX_PAGES`, `SYNC_MAX_EVENTS`): Google's `nextPageToken` alone never ends a run.
    pub fn check_listing(&self, pages: usize, events: usize) -> Result<(), AccountError> {
        Ok(self.accounts.limits.check_listing(pages, events)?)
    }

    /// Runs `call` with an access token; on a 401 refreshes the token once and runs it again.
    pub async fn call<T, F, Fut>(&mut self, call: F) -> Result<T, AccountError>
    where
        F: Fn(CalendarApi, String) -> Fut,
        Fut: Future<Output = Result<T, GoogleError>>,
    {
        self.call_costing(Cost::Call, call).await
    }

    /// [`UserSession::call`] for a request of `cost`: each request sent (a retry after a 401
    /// too) first takes room in the shared quota, and a rate limit from Google shrinks it.
    pub async fn call_costing<T, F, Fut>(&mut self, cost: Cost, call: F) -> Result<T, AccountError>
    where
        F: Fn(CalendarApi, String) -> Fut,
        Fut: Future<Output = Result<T, GoogleError>>,
    {
        let token = self.access_token(false).await?;
        self.take_quota(cost).await;
        let result = match call(self.accounts.api.clone(), token).await {
            Err(GoogleError::Unauthorized) => {
                let token = self.access_token(true).await?;
                self.take_quota(cost).await;
                call(self.accounts.api.clone(), token).await
            }
            other => other,
        };
        if let (Err(GoogleError::RateLimited { scope, .. }), Some(quota)) =
            (&result, &self.accounts.quota)
        {
            quota.refused(self.user_id, *scope).await;
        }
        Ok(result?)
    }

    async fn take_quota(&self, cost: Cost) {
        if let Some(quota) = &self.accounts.quota {
            quota.acquire(self.user_id, cost).await;
        }
    }

    pub async fn list_events(
        &mut self,
        calendar_id: &str,
        query: &ListQuery,
    ) -> Result<EventsPage, AccountError> {
        self.call(|api, t| async move { api.list_events(&t, calendar_id, query).await })
            .await
    }

    pub async fn get_event(
        &mut self,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<Event, AccountError> {
        self.call(|api, t| async move { api.get_event(&t, calendar_id, event_id).await })
            .await
    }

    pub async fn insert_event(
        &mut self,
        calendar_id: &str,
        event: &Event,
    ) -> Result<Event, AccountError> {
        self.call(|api, t| async move { api.insert_event(&t, calendar_id, event).await })
            .await
    }

    pub async fn patch_event(
        &mut self,
        calendar_id: &str,
        event_id: &str,
        changes: &Event,
        if_match: Option<&str>,
    ) -> Result<Event, AccountError> {
        self.call_costing(Cost::Patch, |api, t| async move {
            api.patch_event(&t, calendar_id, event_id, changes, if_match)
                .await
        })
        .await
    }

    pub async fn delete_event(
        &mut self,
        calendar_id: &str,
        event_id: &str,
        if_match: Option<&str>,
    ) -> Result<(), AccountError> {
        self.call(
            |api, t| async move { api.delete_event(&t, calendar_id, event_id, if_match).await },
        )
        .await
    }

    pub async fn watch(
        &mut self,
        calendar_id: &str,
        request: &WatchRequest,
    ) -> Result<WatchChannel, AccountError> {
        self.call(|api, t| async move { api.watch(&t, calendar_id, request).await })
            .await
    }

    pub async fn stop_channel(
        &mut self,
        channel_id: &str,
        resource_id: &str,
    ) -> Result<(), AccountError> {
        self.call(|api, t| async move { api.stop_channel(&t, channel_id, resource_id).await })
            .await
    }

    pub async fn insert_calendar(&mut self, calendar: &Calendar) -> Result<Calendar, AccountError> {
        self.call(|api, t| async move { api.insert_calendar(&t, calendar).await })
            .await
    }

    pub async fn get_calendar(&mut self, calendar_id: &str) -> Result<Calendar, AccountError> {
        self.call(|api, t| async move { api.get_calendar(&t, calendar_id).await })
            .await
    }

    pub async fn patch_calendar(
        &mut self,
        calendar_id: &str,
        changes: &Calendar,
    ) -> Result<Calendar, AccountError> {
        self.call(|api, t| async move { api.patch_calendar(&t, calendar_id, changes).await })
            .await
    }

    pub async fn delete_calendar(&mut self, calendar_id: &str) -> Result<(), AccountError> {
        self.call(|api, t| async move { api.delete_calendar(&t, calendar_id).await })
            .await
    }

    pub async fn get_calendar_list_entry(
        &mut self,
        calendar_id: &str,
    ) -> Result<Calendar, AccountError> {
        self.call(|api, t| async move { api.get_calendar_list_entry(&t, calendar_id).await })
            .await
    }

    /// The user's refresh token, opened (to revoke it at Google).
    pub async fn refresh_token(&self) -> Result<Option<SecretString>, AccountError> {
        let user_id = self.user_id;
        let row = self
            .accounts
            .db
            .run(move |conn| Ok::<_, DbError>(google_credential::find(conn, user_id)?))
            .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(row.refresh_token(&self.accounts.cipher)?.into())),
        }
    }

    /// Re-seals a stale row under the current key. A failure only costs the cache: the row
    /// still opens with the key it has, and the next session tries again.
    async fn reseal(&self, row: google_credential::GoogleCredential, opened: &OpenedCredential) {
        let (cipher, user_id) = (self.accounts.cipher.clone(), self.user_id);
        let opened = OpenedCredential {
            refresh_token: opened.refresh_token.clone(),
            access_token: opened.access_token.clone(),
            stale: true,
        };
        let from_version = row.key_version;
        let result = self
            .accounts
            .db
            .run(move |conn| {
                google_credential::reseal(conn, &cipher, &row, &opened).map_err(AccountError::from)
            })
            .await;
        match result {
            Ok(true) => log::info!(
                "re-sealed the Google credentials of user {user_id} (key version {from_version} to {})",
                self.accounts.cipher.current_version()
            ),
            Ok(false) => log::debug!("credentials of user {user_id} changed while re-sealing"),
            Err(e) => log::warn!("could not re-seal the Google credentials of user {user_id}: {e}"),
        }
    }

    /// The access token to use: the one held, the cached one, or a refreshed one
    /// (`force_refresh` skips the first two).
    async fn access_token(&mut self, force_refresh: bool) -> Result<String, AccountError> {
        if !force_refresh && let Some(t) = &self.token {
            return Ok(t.expose_secret().to_owned());
        }
        let user_id = self.user_id;
        let row = self
            .accounts
            .db
            .run(move |conn| Ok::<_, DbError>(google_credential::find(conn, user_id)?))
            .await?
            .ok_or(AccountError::NoCredentials(user_id))?;
        if row.status == CredentialStatus::Revoked {
            return Err(AccountError::GrantRevoked);
        }
        let cipher = &self.accounts.cipher;
        let opened = row.open(cipher, Utc::now(), EXPIRY_MARGIN)?;
        if opened.stale {
            self.reseal(row, &opened).await;
        }
        if !force_refresh && let Some(cached) = &opened.access_token {
            self.token = Some(cached.clone());
            return Ok(cached.expose_secret().to_owned());
        }
        let refresh_token = opened.refresh_token;
        let fresh = self
            .accounts
            .oauth
            .refresh(refresh_token.expose_secret())
            .await?;
        let (cipher, token, expires_at) = (
            cipher.clone(),
            fresh.token.expose_secret().to_owned(),
            fresh.expires_at,
        );
        let to_cache = token.clone();
        self.accounts
            .db
            .run(move |conn| {
                google_credential::cache_access_token(conn, &cipher, user_id, &to_cache, expires_at)
                    .map_err(AccountError::from)
            })
            .await?;
        self.token = Some(token.clone().into());
        Ok(token)
    }
}
