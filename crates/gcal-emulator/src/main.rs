//! `gcal-emulator`: the Google Calendar emulator standalone, for demos and for pointing a
//! locally running calsync at it. It needs no database, Redis or environment; it prints its
//! URLs and the demo user's refresh token, then serves until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use gcal_emulator::{Emulator, EmulatorConfig, SeedUser};

/// A stand-in for Google's OAuth and Calendar v3 endpoints (see the crate's README).
#[derive(Debug, Parser)]
#[command(name = "gcal-emulator", version, about)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8085)]
    port: u16,
    /// Address to bind. Keep the loopback default unless the demo needs another host.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Email of the demo user created at start-up (its primary calendar has the same id).
    #[arg(long, default_value = "paralegal@example.com")]
    user: String,
    /// Fixed refresh token for the demo user, so a client's config can name it in advance;
    /// a random one is printed when omitted.
    #[arg(long)]
    refresh_token: Option<String>,
    /// OAuth client id the token endpoint accepts.
    #[arg(long, default_value = "calsync-test-client.apps.googleusercontent.com")]
    client_id: String,
    /// OAuth client secret the token endpoint accepts.
    #[arg(long, default_value = "calsync-test-secret")]
    client_secret: String,
    /// An authorized redirect URI of the client (repeat for more). The authorization endpoint
    /// answers an error page for any other `redirect_uri`, as Google does.
    #[arg(
        long = "redirect-uri",
        default_value = "http://127.0.0.1:8080/oauth/google/callback"
    )]
    redirect_uris: Vec<String>,
    /// Time zone of the demo user's primary calendar.
    #[arg(long, default_value = "UTC")]
    time_zone: String,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            log::error!("building the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let config = EmulatorConfig {
        bind: format!("{}:{}", args.bind, args.port),
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        redirect_uris: args.redirect_uris.clone(),
        calendar_time_zone: args.time_zone.clone(),
        notification_retry_delays: EmulatorConfig::standalone_retry_delays(),
        users: vec![SeedUser {
            email: args.user.clone(),
            refresh_token: args.refresh_token.clone(),
        }],
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await?;
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
    println!("  userinfo URL:   {}", urls.userinfo_url);
    println!("  JWKS URL:       {}", urls.jwks_url);
    println!("  control API:    {}", urls.control_base);
    println!("  client id:      {}", args.client_id);
    println!("  client secret:  {}", args.client_secret);
    println!("  redirect URIs:  {}", args.redirect_uris.join(" "));
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
async fn wait_for_shutdown() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
