//! The HTTP surface of `calsync serve`: routes, the latency middleware and the server.

mod error;
pub mod health;
pub mod metrics;
mod state;
pub mod webhooks;

use std::net::SocketAddr;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpServer, web};

use crate::config::HttpConfig;
pub use error::ApiError;
pub use state::AppState;

const WEBHOOK: &str = "/api/webhooks/google-calendar";
const HEALTHZ: &str = "/healthz";
const READYZ: &str = "/readyz";
const METRICS: &str = "/metrics";

/// Every route pattern: the only values the `route` label of the request metrics takes
/// (besides `unmatched`).
const ROUTES: [&str; 4] = [WEBHOOK, HEALTHZ, READYZ, METRICS];

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.service(
        web::resource(WEBHOOK)
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .route(web::post().to(webhooks::google_calendar::receive)),
    )
    .route(HEALTHZ, web::get().to(health::healthz))
    .route(READYZ, web::get().to(health::readyz))
    .route(METRICS, web::get().to(metrics::metrics));
}

/// The application: state, routes and request metrics. `serve` and the tests both use it.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let max_body = state.webhook.max_body_bytes;
    App::new()
        .app_data(web::Data::new(state))
        .wrap(from_fn(observe))
        .configure(|cfg| configure(cfg, max_body))
}

async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let res = next.call(req).await?;
    if let Some(m) = metrics {
        m.request(
            &ROUTES,
            res.request().match_pattern().as_deref(),
            res.request().method(),
            res.status(),
            started.elapsed(),
        );
    }
    Ok(res)
}

/// Binds the server (port 0 picks a free port) and returns it with the bound address; the
/// caller awaits the server. Must run inside an actix system.
pub fn listen(state: AppState, config: &HttpConfig) -> std::io::Result<(Server, SocketAddr)> {
    let mut server = HttpServer::new(move || app(state.clone())).shutdown_timeout(10);
    if config.workers > 0 {
        server = server.workers(config.workers);
    }
    let server = server.bind(config.bind_addr)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("server bound to no address"))?;
    Ok((server.run(), addr))
}
