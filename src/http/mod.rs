//! The HTTP surface of `calsync serve`: routes, the latency middleware and the servers. The
//! public server (`BIND_ADDR`) answers the webhook, `/healthz`, and (with `JWT_SECRET` set) the
//! user API and the OAuth connect flow; `/readyz` and
//! `/metrics`, which reach PostgreSQL and Redis, are on the admin server (`ADMIN_BIND_ADDR`).

pub mod api;
pub mod auth;
pub mod connect;
mod cors;
mod error;
pub mod health;
mod log_limit;
pub mod metrics;
mod state;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpServer, web};

use crate::config::HttpConfig;
pub use error::ApiError;
pub use state::AppState;

const WEBHOOK: &str = "/api/webhooks/google-calendar";
const HEALTHZ: &str = "/healthz";
const READYZ: &str = "/readyz";
const METRICS: &str = "/metrics";
const CONNECT: &str = "/api/google-calendar/connect";
const OAUTH_START: &str = "/oauth/google/start";
const OAUTH_CALLBACK: &str = "/oauth/google/callback";
const GCAL: &str = "/api/google-calendar";
const GCAL_STATUS: &str = "/api/google-calendar/status";
const GCAL_PAUSE: &str = "/api/google-calendar/pause";
const GCAL_RESUME: &str = "/api/google-calendar/resume";
const GCAL_RESYNC: &str = "/api/google-calendar/resync";
const CASE_CALENDAR: &str = "/api/cases/{id}/calendar";

/// Every route pattern: the only values the `route` label of the request metrics takes
/// (besides `unmatched`).
const ROUTES: [&str; 13] = [
    WEBHOOK,
    HEALTHZ,
    READYZ,
    METRICS,
    CONNECT,
    OAUTH_START,
    OAUTH_CALLBACK,
    GCAL,
    GCAL_STATUS,
    GCAL_PAUSE,
    GCAL_RESUME,
    GCAL_RESYNC,
    CASE_CALENDAR,
];

/// Registers the public routes: the webhook, and `/healthz` for the load balancer.
pub fn configure(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.service(
        web::resource(WEBHOOK)
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .route(web::post().to(webhooks::google_calendar::receive)),
    )
    .route(HEALTHZ, web::get().to(health::healthz));
    configure_user(cfg);
}

/// The user API and the connect flow (they answer 404 when `JWT_SECRET` is not configured).
fn configure_user(cfg: &mut web::ServiceConfig) {
    cfg.route(CONNECT, web::post().to(connect::connect))
        .route(OAUTH_START, web::get().to(connect::start))
        .route(OAUTH_CALLBACK, web::get().to(connect::callback))
        .route(GCAL_STATUS, web::get().to(api::get_status))
        .route(GCAL_PAUSE, web::post().to(api::pause))
        .route(GCAL_RESUME, web::post().to(api::resume))
        .route(GCAL_RESYNC, web::post().to(api::resync))
        .route(GCAL, web::delete().to(api::disconnect))
        .route(CASE_CALENDAR, web::get().to(api::case_calendar));
}

/// Registers the operational routes, served only on `ADMIN_BIND_ADDR`: `/healthz`, `/readyz`
/// (which checks PostgreSQL and Redis) and `/metrics` (which reads Redis and PostgreSQL).
pub fn configure_admin(cfg: &mut web::ServiceConfig) {
    cfg.route(HEALTHZ, web::get().to(health::healthz))
        .route(READYZ, web::get().to(health::readyz))
        .route(METRICS, web::get().to(metrics::metrics));
}

/// The public application: state, the webhook and `/healthz`, and request metrics. `serve`
/// and the tests both use it.
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
    let cors = cors::middleware(&state);
    App::new()
        .app_data(web::Data::new(state))
        .wrap(cors)
        .wrap(from_fn(observe))
        .configure(|cfg| configure(cfg, max_body))
}

/// The admin application (`/healthz`, `/readyz`, `/metrics`), on its own address.
pub fn admin_app(
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
    App::new()
        .app_data(web::Data::new(state))
        .wrap(from_fn(observe))
        .configure(configure_admin)
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

/// The two servers of `serve`, run as one future: the public one (`BIND_ADDR`: the webhook
/// and `/healthz`) and the admin one (`ADMIN_BIND_ADDR`: `/healthz`, `/readyz`, `/metrics`).
/// It ends when either server ends (both stop on SIGTERM or SIGINT).
pub struct Listening {
    admin_addr: SocketAddr,
    handles: ServerHandles,
    run: Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>,
}

impl Listening {
    /// Where the admin server listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// A handle that stops both servers.
    pub fn handle(&self) -> ServerHandles {
        self.handles.clone()
    }
}

impl Future for Listening {
    type Output = std::io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.run.as_mut().poll(cx)
    }
}

/// Stops the public and the admin server together.
#[derive(Clone)]
pub struct ServerHandles {
    public: ServerHandle,
    admin: ServerHandle,
}

impl ServerHandles {
    /// Stops both servers; `graceful` lets requests in flight finish.
    pub async fn stop(&self, graceful: bool) {
        futures::join!(self.public.stop(graceful), self.admin.stop(graceful));
    }
}

/// Binds both servers (port 0 picks a free port) and returns them with the public address
/// (the admin one is [`Listening::admin_addr`]); the caller awaits the result. Must run
/// inside an actix system.
pub fn listen(state: AppState, config: &HttpConfig) -> std::io::Result<(Listening, SocketAddr)> {
    let public_state = state.clone();
    let mut public =
        HttpServer::new(move || app(public_state.for_worker_thread())).shutdown_timeout(10);
    if config.workers > 0 {
        public = public.workers(config.workers);
    }
    let public = public.bind(config.bind_addr)?;
    let public_addr = first_addr(&public.addrs())?;
    // Scrapes and probes are few: one worker thread is plenty.
    let admin = HttpServer::new(move || admin_app(state.clone()))
        .workers(1)
        .shutdown_timeout(5)
        .bind(config.admin_bind_addr)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("binding ADMIN_BIND_ADDR {}: {e}", config.admin_bind_addr),
            )
        })?;
    let admin_addr = first_addr(&admin.addrs())?;
    let (public, admin): (Server, Server) = (public.run(), admin.run());
    let handles = ServerHandles {
        public: public.handle(),
        admin: admin.handle(),
    };
    let run = Box::pin(async move {
        futures::try_join!(public, admin)?;
        Ok(())
    });
    Ok((
        Listening {
            admin_addr,
            handles,
            run,
        },
        public_addr,
    ))
}

fn first_addr(addrs: &[SocketAddr]) -> std::io::Result<SocketAddr> {
    addrs
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("server bound to no address"))
}
