//! Building the Google-facing parts from the environment, shared by the roles that talk to
//! Google (`worker`, `channels watch/stop`).

use crate::account::GoogleAccounts;
use crate::config::{CryptoConfig, GoogleConfig, SyncConfig, WebhookConfig};
use crate::db::Db;
use crate::inbound::SyncContext;
use crate::retry::RetryPolicy;

/// Reads `GOOGLE_*` and `TOKEN_ENCRYPTION_*`.
pub fn google_accounts(db: &Db) -> anyhow::Result<GoogleAccounts> {
    let google_config = GoogleConfig::from_env()?;
    let crypto = CryptoConfig::from_env()?;
    GoogleAccounts::new(&google_config, db.clone(), crypto.cipher)
}

/// Reads the above plus the `SYNC_*` settings and the retry policy.
pub fn sync_context(db: &Db) -> anyhow::Result<SyncContext> {
    Ok(SyncContext {
        db: db.clone(),
        google: google_accounts(db)?,
        settings: SyncConfig::from_env()?.settings,
        retry: RetryPolicy::from_env()?,
    })
}

/// The token Google will echo for a channel: HMAC of its id under `CHANNEL_TOKEN_SECRET`.
pub fn channel_token_fn() -> anyhow::Result<impl Fn(&str) -> String + Sync + Send + Clone + 'static>
{
    let webhook = WebhookConfig::from_env()?;
    let secret = webhook.channel_token_secret;
    Ok(move |channel_id: &str| crate::channel_token::derive(&secret, channel_id))
}
