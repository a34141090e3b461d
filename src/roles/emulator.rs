//! `calsync emulator`: runs the Google Calendar emulator standalone, for demos and for pointing
//! a locally running calsync at it. It needs no database, Redis or environment.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::EmulatorArgs;
use crate::emulator::{Emulator, EmulatorConfig, SeedUser};

pub fn run(args: &EmulatorArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: &EmulatorArgs) -> anyhow::Result<()> {
    let config = EmulatorConfig {
        bind: format!("{}:{}", args.bind, args.port),
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        notification_retry_delays: EmulatorConfig::standalone_retry_delays(),
        users: vec![SeedUser {
            email: args.user.clone(),
            refresh_token: args.refresh_token.clone(),
        }],
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config)
        .await
        .context("starting the emulator")?;
    let urls = emulator.urls();
    let refresh_token = emulator
        .seeded_users()
        .first()
        .map(|u| u.refresh_token.clone())
        .unwrap_or_default();
    println!("Google Calendar emulator listening on {}", urls.base);
    println!("  API base:       {}", urls.api_base);
    println!("  token URL:      {}", urls.token_url);
    println!("  auth URL:       {}", urls.auth_url);
    println!("  revoke URL:     {}", urls.revoke_url);
    println!("  control API:    {}", urls.control_base);
    println!("  client id:      {}", args.client_id);
    println!("  client secret:  {}", args.client_secret);
    println!(
        "  demo user:      {} (calendar id {})",
        args.user, args.user
    );
    println!("  refresh token:  {refresh_token}");
    wait_for_shutdown().await?;
    log::info!("emulator shutting down");
    emulator.stop().await;
    Ok(())
}

/// Returns on Ctrl-C or SIGTERM.
async fn wait_for_shutdown() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
