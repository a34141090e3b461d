//! A user connecting their own Google Calendar: the OAuth flow (`flow`), setting up and
//! watching the calendar (`calendar`), what the user may do afterwards (`manage`) and what
//! the status endpoint reports (`status`). Nothing here knows HTTP: `crate::http::connect`
//! and `crate::http::api` translate.

pub mod calendar;
pub mod flow;
pub mod manage;
mod secrets;
pub mod status;

use secrecy::SecretString;

use crate::account::AccountError;
use crate::channels::{WatchError, WatchTarget};
use crate::config::{AuthConfig, ConnectConfig, GoogleConfig};
use crate::crypto::TokenCipher;
use crate::db::DbError;
use crate::google::OAuthClient;
use crate::inbound::SyncContext;
use crate::retry::{Classify, Failure};

/// Everything the user-facing endpoints need.
#[derive(Clone)]
pub struct ConnectService {
    pub config: ConnectConfig,
    pub auth: AuthConfig,
    /// Google's authorization endpoint (`GOOGLE_OAUTH_AUTH_URL`).
    pub auth_url: String,
    pub oauth: OAuthClient,
    pub sync: SyncContext,
    pub cipher: TokenCipher,
    pub watch: WatchTarget,
    pub channel_token_secret: SecretString,
}

impl ConnectService {
    pub fn new(
        config: ConnectConfig,
        auth: AuthConfig,
        google: &GoogleConfig,
        sync: SyncContext,
        cipher: TokenCipher,
        watch: WatchTarget,
        channel_token_secret: SecretString,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(google.request_timeout)
            .user_agent(concat!("calsync/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            oauth: OAuthClient::new(
                http,
                &google.oauth_token_url,
                &google.client_id,
                google.client_secret.clone(),
                google.limits.max_body_bytes,
            ),
            auth_url: google.oauth_auth_url.clone(),
            config,
            auth,
            sync,
            cipher,
            watch,
            channel_token_secret,
        })
    }

    /// The token Google echoes for a channel.
    pub fn channel_token(&self, channel_id: &str) -> String {
        crate::channel_token::derive(&self.channel_token_secret, channel_id)
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The user has no connection to act on.
    #[error("Google Calendar is not connected")]
    NotConnected,
    /// The sync is paused or waits for the user (no active channel to act on).
    #[error("the sync is not running")]
    NotRunning,
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Watch(#[from] WatchError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
}

impl Classify for ConnectError {
    /// What the user may do about it: not connected or not running is the user's to fix;
    /// the rest is as the inner failure classifies (a queue error is Redis away).
    fn classify(&self) -> Failure {
        match self {
            Self::NotConnected | Self::NotRunning => Failure::Permanent,
            Self::Account(e) => e.classify(),
            Self::Watch(e) => e.classify(),
            Self::Db(e) => e.classify(),
            Self::Queue(_) => Failure::Transient,
        }
    }
}

impl From<diesel::result::Error> for ConnectError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

impl From<crate::google::GoogleError> for ConnectError {
    fn from(e: crate::google::GoogleError) -> Self {
        Self::Account(e.into())
    }
}
