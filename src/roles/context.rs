//! Building the Google-facing sync context from the environment, shared by the roles that
//! talk to Google (`worker`, `channels watch/stop`).

use crate::config::{CryptoConfig, GoogleConfig, SyncConfig, WebhookConfig};
use crate::db::Db;
use crate::google::GoogleAccounts;
use crate::sync::SyncContext;

/// Reads `GOOGLE_*`, `TOKEN_ENCRYPTION_*` and the `SYNC_*` settings.
pub fn sync_context(db: &Db) -> anyhow::Result<(SyncContext, SyncConfig)> {
    let google_config = GoogleConfig::from_env()?;
    let crypto = CryptoConfig::from_env()?;
    let sync_config = SyncConfig::from_env()?;
    let google = GoogleAccounts::new(&google_config, db.clone(), crypto.cipher)?;
    let ctx = SyncContext {
        db: db.clone(),
        google,
        settings: sync_config.settings.clone(),
    };
    Ok((ctx, sync_config))
}

/// The token Google will echo for a channel: HMAC of its id under `CHANNEL_TOKEN_SECRET`.
pub fn channel_token_fn() -> anyhow::Result<impl Fn(&str) -> String + Sync + Send + Clone> {
    let webhook = WebhookConfig::from_env()?;
    let secret = webhook.channel_token_secret;
    Ok(move |channel_id: &str| crate::channel_token::derive(&secret, channel_id))
}
