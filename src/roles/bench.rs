//! Hidden helpers for `scripts/bench-webhook`: a bare actix server to compare the webhook
//! with, and the channel tokens the load generator sends.

use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;

use crate::cli::{BenchBareArgs, BenchTokensArgs};
use crate::config::{HttpConfig, WebhookConfig};

/// A server with one route that only answers 200 to any POST, with the same HTTP settings as
/// `serve` (`BIND_ADDR`, `HTTP_WORKERS`): the ceiling the webhook is measured against.
pub fn bare_server(_args: &BenchBareArgs) -> anyhow::Result<ExitCode> {
    let config = HttpConfig::from_env()?;
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(|| {
            App::new().route(
                "/api/webhooks/google-calendar",
                web::post().to(|| async { HttpResponse::Ok().finish() }),
            )
        });
        if config.workers > 0 {
            server = server.workers(config.workers);
        }
        let server = server
            .bind(config.bind_addr)
            .with_context(|| format!("binding {}", config.bind_addr))?;
        log::info!("bare server on http://{}", config.bind_addr);
        server.run().await.context("running the bare server")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Prints `channel_id token` lines for `count` synthetic channels, tokens derived with
/// `CHANNEL_TOKEN_SECRET` exactly as `serve` checks them.
pub fn tokens(args: &BenchTokensArgs) -> anyhow::Result<ExitCode> {
    let config = WebhookConfig::from_env()?;
    for i in 0..args.channels {
        let id = format!("bench-channel-{i:05}");
        let token = crate::channel_token::derive(&config.channel_token_secret, &id);
        println!("{id} {token}");
    }
    Ok(ExitCode::SUCCESS)
}
