//! Routing and the HTTP server. Google-facing routes go through the recording/fault gate; the
//! control API under `/_emulator` does not.

use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};

use super::control;
use super::errors::GoogleError;
use super::gate::gate;
use super::state::Shared;
use super::{calendars, events, oauth, watch};

/// Path of the Calendar API base, as at `https://www.googleapis.com/calendar/v3`.
pub const API_PREFIX: &str = "/calendar/v3";
/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/token";
/// Path of the authorization endpoint (Google's v2 path).
pub const AUTH_PATH: &str = "/o/oauth2/v2/auth";
/// Path the consent page's form posts to.
pub const CONSENT_PATH: &str = "/o/oauth2/v2/auth/consent";
/// Path of the revocation endpoint.
pub const REVOKE_PATH: &str = "/revoke";
/// Path of the userinfo endpoint (as at `https://openidconnect.googleapis.com`).
pub const USERINFO_PATH: &str = "/v1/userinfo";
/// Path of the JWKS (as at `https://www.googleapis.com`).
pub const JWKS_PATH: &str = "/oauth2/v3/certs";
/// Path of the OpenID Connect discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Prefix of the control API.
pub const CONTROL_PREFIX: &str = "/_emulator";

async fn api_not_found() -> Result<HttpResponse, GoogleError> {
    Err(GoogleError::not_found())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope(CONTROL_PREFIX).configure(control::http::routes))
        .service(
            web::scope(API_PREFIX)
                .wrap(from_fn(gate))
                // Registered before `events/{eventId}` so that `watch` is not taken for an id.
                .route(
                    "/calendars/{calendarId}/events/watch",
                    web::post().to(watch::watch),
                )
                .route(
                    "/calendars/{calendarId}/events",
                    web::get().to(events::list),
                )
                .route(
                    "/calendars/{calendarId}/events",
                    web::post().to(events::insert),
                )
                .service(
                    web::resource("/calendars/{calendarId}/events/{eventId}")
                        .route(web::get().to(events::get))
                        .route(web::put().to(events::update))
                        .route(web::patch().to(events::patch))
                        .route(web::delete().to(events::delete)),
                )
                .route("/channels/stop", web::post().to(watch::stop))
                .route("/calendars", web::post().to(calendars::insert))
                .service(
                    web::resource("/calendars/{calendarId}")
                        .route(web::get().to(calendars::get))
                        .route(web::patch().to(calendars::patch))
                        .route(web::put().to(calendars::update))
                        .route(web::delete().to(calendars::delete)),
                )
                .route("/users/me/calendarList", web::get().to(calendars::list))
                .route(
                    "/users/me/calendarList/{calendarId}",
                    web::get().to(calendars::list_get),
                )
                .default_service(web::to(api_not_found)),
        )
        .service(
            web::resource(TOKEN_PATH)
                .wrap(from_fn(gate))
                .route(web::post().to(oauth::token)),
        )
        .service(
            web::resource(REVOKE_PATH)
                .wrap(from_fn(gate))
                .route(web::post().to(oauth::revoke)),
        )
        .service(
            web::resource([AUTH_PATH, "/o/oauth2/auth"])
                .wrap(from_fn(gate))
                .route(web::get().to(oauth::authorize)),
        )
        .service(
            web::resource(CONSENT_PATH)
                .wrap(from_fn(gate))
                .route(web::post().to(oauth::consent)),
        )
        .service(
            web::resource([USERINFO_PATH, "/oauth2/v3/userinfo"])
                .wrap(from_fn(gate))
                .route(web::get().to(oauth::userinfo))
                .route(web::post().to(oauth::userinfo)),
        )
        .service(
            web::resource(JWKS_PATH)
                .wrap(from_fn(gate))
                .route(web::get().to(oauth::jwks)),
        )
        .service(
            web::resource(DISCOVERY_PATH)
                .wrap(from_fn(gate))
                .route(web::get().to(oauth::discovery)),
        );
}

/// Builds the server on an already bound listener.
pub fn build(
    listener: std::net::TcpListener,
    shared: web::Data<Shared>,
    workers: usize,
) -> std::io::Result<actix_web::dev::Server> {
    let server = HttpServer::new(move || App::new().app_data(shared.clone()).configure(routes))
        .workers(workers)
        // The owner (a test, or the `emulator` role) decides when to stop.
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
    Ok(server)
}
