//! Bearer authentication and the per-user quota for the Calendar endpoints, as an extractor:
//! a handler that takes a [`Caller`] only runs for a valid, unexpired access token whose grant
//! is live, and only while the user is within quota.

use std::future::{Ready, ready};
use std::time::Instant;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};

use super::config::QuotaResponse;
use super::errors::GoogleError;
use super::scopes::TokenScopes;
use super::state::{Shared, lock};

/// The authenticated user of a Calendar request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's email.
    pub email: String,
    /// The token's scopes and OAuth client.
    pub token: TokenScopes,
}

/// The bearer token of a request.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get("Authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn authenticate(req: &HttpRequest) -> Result<Caller, GoogleError> {
    let shared = req
        .app_data::<web::Data<Shared>>()
        .ok_or_else(|| GoogleError::new(500, "global", "backendError", "Backend Error"))?;
    let token = bearer(req).ok_or_else(GoogleError::auth_error)?;
    let (email, token) = shared
        .store()
        .authenticate(token, shared.now())
        .ok_or_else(GoogleError::auth_error)?;
    // Google documents that a patch costs three quota units.
    let cost = if req.method() == Method::PATCH { 3 } else { 1 };
    if !lock(&shared.quota).charge(&email, cost, Instant::now()) {
        return Err(match shared.config.quota_response {
            QuotaResponse::UserRateLimit403 => GoogleError::new(
                403,
                "usageLimits",
                "userRateLimitExceeded",
                "User Rate Limit Exceeded",
            ),
            QuotaResponse::RateLimit429 => GoogleError::new(
                429,
                "usageLimits",
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            ),
        });
    }
    Ok(Caller { email, token })
}

impl FromRequest for Caller {
    type Error = GoogleError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}
