//! Cross-origin access to the user API: the tracker's pages, served from their own origin,
//! call `/api/google-calendar/*` and `/api/cases/*` with the user's bearer token. Only the
//! origins of `API_ALLOWED_ORIGINS` may; with none configured no cross-origin call is allowed
//! (a browser then refuses to hand the answer to another origin's page). No cookies are
//! involved (the token is a header), so credentials are never allowed.

use actix_cors::Cors;
use actix_web::http::{Method, header};
use actix_web::middleware::Condition;

use super::AppState;

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE_SECS: usize = 3600;

/// The CORS middleware for `state`'s allowed origins; off when there are none.
pub fn middleware(state: &AppState) -> Condition<Cors> {
    let origins = state
        .connect
        .as_ref()
        .map(|c| c.auth.allowed_origins.clone())
        .unwrap_or_default();
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::DELETE])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(PREFLIGHT_MAX_AGE_SECS)
        // A call from any other origin is refused (400) rather than run unanswered.
        .block_on_origin_mismatch(true);
    for origin in &origins {
        cors = cors.allowed_origin(origin);
    }
    Condition::new(!origins.is_empty(), cors)
}
