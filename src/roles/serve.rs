//! `calsync serve`: the HTTP server (webhook, health, metrics).

use std::process::ExitCode;

use anyhow::Context;

use crate::config::{
    DatabaseConfig, FleetConfig, HttpConfig, QueueConfig, RedisConfig, WebhookConfig,
};
use crate::db::{Db, migrations};
use crate::http::AppState;
use crate::http::webhooks::unrecorded;
use crate::jobs::JobQueue;
use crate::queue;
use crate::quota::Quota;

pub fn run() -> anyhow::Result<ExitCode> {
    let db_config = DatabaseConfig::from_env()?;
    let redis_config = RedisConfig::from_env()?;
    let queue_config = QueueConfig::from_env()?;
    let http_config = HttpConfig::from_env()?;
    let webhook_config = WebhookConfig::from_env()?;

    let db = Db::new(&db_config);
    {
        let mut conn = db.checkout().context("connecting to PostgreSQL")?;
        migrations::ensure_current(&mut conn)?;
    }

    actix_web::rt::System::new().block_on(async move {
        // Created on the system runtime, which lives as long as the server, and cloned into
        // every HTTP worker thread.
        let conn = queue::connect(&redis_config).context("configuring the Redis client")?;
        // The connect flow calls Google too (a calendar, a watch, the first listing): it
        // takes from the fleet's shared quota like the workers.
        let quota = Quota::new(
            conn.clone(),
            &queue_config.namespace,
            FleetConfig::from_env()?.quota,
        );
        let channel_token_secret = webhook_config.channel_token_secret.clone();
        let mut state = AppState::new(
            db.clone(),
            JobQueue::new(conn, &queue_config),
            webhook_config,
        )?
        .with_connection_per_thread(redis_config.clone());
        if crate::config::env::var("JWT_SECRET").is_some() {
            state = state.with_connect(connect_service(&db, quota, channel_token_secret)?);
        } else {
            log::info!("JWT_SECRET is not set: the user API and the connect flow are off");
        }
        // Channels answered 503 are synced once the queue answers again (Google may give up
        // retrying before that).
        actix_web::rt::spawn(unrecorded::run(
            state.unrecorded.clone(),
            state.queue.clone(),
            unrecorded::HAND_OVER_INTERVAL,
        ));
        let (server, addr) = crate::http::listen(state, &http_config)
            .with_context(|| format!("binding {}", http_config.bind_addr))?;
        log::info!(
            "serving on http://{addr}, admin (/readyz, /metrics) on http://{} (queue namespace {})",
            server.admin_addr(),
            queue_config.namespace
        );
        server.await.context("running the HTTP server")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The user API's parts, from `JWT_*`, `GOOGLE_*`, `TOKEN_ENCRYPTION_*`, the connect and watch
/// settings.
fn connect_service(
    db: &Db,
    quota: Quota,
    channel_token_secret: secrecy::SecretString,
) -> anyhow::Result<crate::connect::ConnectService> {
    let google = crate::config::GoogleConfig::from_env()?;
    let crypto = crate::config::CryptoConfig::from_env()?;
    let watch = crate::config::WatchConfig::from_env()?;
    let mut sync = super::context::sync_context(db)?;
    sync.google = sync.google.with_quota(quota);
    crate::connect::ConnectService::new(
        crate::config::ConnectConfig::from_env()?,
        crate::config::AuthConfig::from_env()?,
        &google,
        sync,
        crypto.cipher,
        crate::channels::WatchTarget::from_config(&watch),
        channel_token_secret,
    )
}
