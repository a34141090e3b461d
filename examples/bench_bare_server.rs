//! For `scripts/bench-webhook`: a bare actix server with one route that only answers 200 to
//! any POST, with the same HTTP settings as `calsync serve` (`BIND_ADDR`, `HTTP_WORKERS`): the
//! ceiling the webhook is measured against.

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use calsync::config::HttpConfig;

fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
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
    })
}
