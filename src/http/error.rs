//! The one error type of the HTTP boundary.
//!
//! Error tiers (see the house style): model functions return `diesel::QueryResult`;
//! libraries with callers that branch (`db::Db`, `queue`, `jobs`) return `thiserror` enums
//! whose variants are decisions; roles and startup use `anyhow` with context; handlers return
//! [`ApiError`], and only it knows about HTTP. 5xx bodies are opaque: the cause is logged
//! once, here, and never sent to the caller.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

pub enum ApiError {
    /// 400: the caller sent something malformed; the message is shown to it.
    BadRequest(&'static str),
    /// 401: missing or wrong credentials (a channel token).
    Unauthorized,
    /// 404: the resource does not exist for this caller (another user's is not found either).
    NotFound,
    /// 409: the request conflicts with the current state; the message is shown to the caller.
    Conflict(&'static str),
    /// 503: a dependency is down or too slow; the caller may retry (Google does).
    Unavailable(anyhow::Error),
    /// 500: a bug or an unexpected failure.
    Internal(anyhow::Error),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn public_message(&self) -> &'static str {
        match self {
            Self::BadRequest(m) => m,
            Self::Unauthorized => "missing or invalid credentials",
            Self::NotFound => "not found",
            Self::Conflict(m) => m,
            Self::Unavailable(_) => "temporarily unavailable; retry later",
            Self::Internal(_) => "internal error",
        }
    }
}

impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(e) | Self::Internal(e) => write!(f, "{}: {e:?}", self.code()),
            _ => write!(f, "{}: {}", self.code(), self.public_message()),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(e) | Self::Internal(e) => write!(f, "{}: {e:#}", self.code()),
            _ => f.write_str(self.public_message()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Unavailable(e) | Self::Internal(e) = self {
            log::error!("{}: {e:#}", self.code());
        }
        HttpResponse::build(self.status_code()).json(serde_json::json!({
            "error": self.code(),
            "message": self.public_message(),
        }))
    }
}

impl From<crate::connect::ConnectError> for ApiError {
    fn from(e: crate::connect::ConnectError) -> Self {
        use crate::connect::ConnectError;
        match e {
            ConnectError::NotConnected => Self::Conflict("Google Calendar is not connected"),
            ConnectError::NotRunning => {
                Self::Conflict("the sync is paused or needs attention: resume it first")
            }
            other => Self::by_failure(other),
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        Self::by_failure(e)
    }
}

impl ApiError {
    /// A failure as the retry policy's classification says: Google or PostgreSQL away or
    /// slowing calsync down is a 503 (retry later), a grant or calendar that needs the user is
    /// a 409 with what to do, anything else a 500.
    fn by_failure<E>(e: E) -> Self
    where
        E: crate::retry::Classify + std::error::Error + Send + Sync + 'static,
    {
        use crate::retry::{Failure, Parked};
        match e.classify() {
            Failure::Transient | Failure::RateLimited { .. } | Failure::Busy => {
                Self::Unavailable(e.into())
            }
            Failure::NeedsAction(Parked::GrantRevoked | Parked::NoCredentials) => {
                Self::Conflict("Google access was revoked: connect Google Calendar again")
            }
            Failure::NeedsAction(Parked::CalendarGone) => {
                Self::Conflict("the calendar was deleted in Google: resume to create it again")
            }
            Failure::Permanent => Self::Internal(e.into()),
        }
    }
}
