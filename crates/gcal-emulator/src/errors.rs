//! Error answers in Google's shapes. Calendar endpoints answer
//! `{"error":{"errors":[{domain, reason, message, locationType?, location?}], code, message}}`;
//! the OAuth endpoints answer RFC 6749's flat `{"error", "error_description"}`. Tests and the
//! service under test branch on the status plus `reason`, so the strings here are Google's.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// A Calendar API error, rendered in Google's error body shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {reason}: {message}")]
pub struct GoogleError {
    /// HTTP status.
    pub status: u16,
    /// `errors[0].domain`, e.g. `global`, `calendar`, `usageLimits`.
    pub domain: &'static str,
    /// `errors[0].reason`, the field clients branch on.
    pub reason: String,
    /// Human-readable message, also used as the top-level `message`.
    pub message: String,
    /// Value of a `Retry-After` header to send, in seconds.
    pub retry_after: Option<u32>,
    /// What few errors add to the usual shape (boxed: most errors have none of it).
    pub detail: Option<Box<ErrorDetail>>,
}

/// The rarer parts of a Calendar API error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// `(locationType, location)`, e.g. `("parameter", "syncToken")`.
    pub location: Option<(&'static str, String)>,
    /// `errors[0].message` when it differs from the top-level `message`.
    pub item_message: Option<String>,
    /// Further members of the `error` object (e.g. `status`, `details`).
    pub extra: Option<serde_json::Value>,
    /// Value of a `WWW-Authenticate` header to send.
    pub www_authenticate: Option<String>,
}

impl GoogleError {
    /// A bare error without location.
    pub fn new(status: u16, domain: &'static str, reason: &str, message: &str) -> Self {
        Self {
            status,
            domain,
            reason: reason.to_owned(),
            message: message.to_owned(),
            retry_after: None,
            detail: None,
        }
    }

    /// Adds `locationType`/`location`.
    pub fn at(mut self, location_type: &'static str, location: &str) -> Self {
        self.detail.get_or_insert_default().location = Some((location_type, location.to_owned()));
        self
    }

    /// 400 `invalid` about a query parameter.
    pub fn invalid_param(param: &str, message: &str) -> Self {
        Self::new(400, "global", "invalid", message).at("parameter", param)
    }

    /// 400 `invalid` about the request body.
    pub fn invalid(message: &str) -> Self {
        Self::new(400, "global", "invalid", message)
    }

    /// 400 `required`: a mandatory field is missing.
    pub fn required(message: &str) -> Self {
        Self::new(400, "global", "required", message)
    }

    /// 400 `parseError`: the body is not the JSON object expected.
    pub fn parse_error() -> Self {
        Self::new(400, "global", "parseError", "Parse Error")
    }

    /// 401 `authError` on the `Authorization` header.
    pub fn auth_error() -> Self {
        Self::new(401, "global", "authError", "Invalid Credentials").at("header", "Authorization")
    }

    /// 403 `forbidden`.
    pub fn forbidden() -> Self {
        Self::new(403, "global", "forbidden", "Forbidden")
    }

    /// 404 `notFound`.
    pub fn not_found() -> Self {
        Self::new(404, "global", "notFound", "Not Found")
    }

    /// 409 `duplicate`: insert with an id that is (or was) in use.
    pub fn duplicate() -> Self {
        Self::new(
            409,
            "global",
            "duplicate",
            "The requested identifier already exists.",
        )
    }

    /// 410 `deleted`: the event was already deleted.
    pub fn deleted() -> Self {
        Self::new(410, "global", "deleted", "Resource has been deleted")
    }

    /// 410 `fullSyncRequired`: the sync token is no longer valid.
    pub fn full_sync_required() -> Self {
        Self::new(
            410,
            "calendar",
            "fullSyncRequired",
            "Sync token is no longer valid, a full sync is required.",
        )
        .at("parameter", "syncToken")
    }

    /// 412 `conditionNotMet`: `If-Match` did not match the current etag.
    pub fn condition_not_met() -> Self {
        Self::new(412, "global", "conditionNotMet", "Precondition Failed").at("header", "If-Match")
    }

    /// 400 `timeRangeEmpty`.
    pub fn time_range_empty() -> Self {
        Self::new(
            400,
            "calendar",
            "timeRangeEmpty",
            "The specified time range is empty.",
        )
    }

    fn body(&self) -> serde_json::Value {
        let mut item = json!({
            "domain": self.domain,
            "reason": self.reason,
            "message": self
                .detail
                .as_ref()
                .and_then(|d| d.item_message.as_deref())
                .unwrap_or(&self.message),
        });
        let location = self.detail.as_ref().and_then(|d| d.location.as_ref());
        if let (Some((kind, location)), Some(obj)) = (location, item.as_object_mut()) {
            obj.insert("locationType".to_owned(), json!(kind));
            obj.insert("location".to_owned(), json!(location));
        }
        let mut error = json!({"errors": [item], "code": self.status, "message": self.message});
        let extra = self.detail.as_ref().and_then(|d| d.extra.as_ref());
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) = (extra, error.as_object_mut())
        {
            obj.extend(extra.clone());
        }
        json!({ "error": error })
    }
}

impl ResponseError for GoogleError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        if let Some(value) = self
            .detail
            .as_ref()
            .and_then(|d| d.www_authenticate.as_ref())
        {
            res.insert_header(("WWW-Authenticate", value.clone()));
        } else if self.status == 401 {
            res.insert_header((
                "WWW-Authenticate",
                "Bearer realm=\"https://accounts.google.com/\"",
            ));
        }
        res.json(self.body())
    }
}

/// An OAuth endpoint error (RFC 6749 §5.2 shape).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {error}: {description}")]
pub struct OAuthError {
    /// HTTP status: 400 for grant problems, 401 for client authentication failures.
    pub status: u16,
    /// `error`, e.g. `invalid_grant`.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
}

impl OAuthError {
    /// Builds an OAuth error.
    pub fn new(status: u16, error: &'static str, description: &str) -> Self {
        Self {
            status,
            error,
            description: description.to_owned(),
        }
    }

    /// 400 `invalid_grant` for an unknown, revoked or expired refresh token.
    pub fn revoked() -> Self {
        Self::new(400, "invalid_grant", "Token has been expired or revoked.")
    }

    /// 401 `invalid_client` for an unknown client or a wrong secret.
    pub fn invalid_client() -> Self {
        Self::new(401, "invalid_client", "The OAuth client was not found.")
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .json(json!({"error": self.error, "error_description": self.description}))
    }
}

/// Failures of the control functions (acting as the user, tweaking state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No calendar with this id.
    #[error("unknown calendar {0}")]
    UnknownCalendar(String),
    /// No event with this id in the calendar.
    #[error("unknown event {0}")]
    UnknownEvent(String),
    /// No user with this email.
    #[error("unknown user {0}")]
    UnknownUser(String),
    /// No grant with this refresh token.
    #[error("unknown refresh token")]
    UnknownRefreshToken,
    /// A user with this email already exists.
    #[error("user {0} already exists")]
    UserExists(String),
    /// The refresh token asked for already belongs to a grant.
    #[error("refresh token already in use")]
    RefreshTokenInUse,
    /// No OAuth client with this id.
    #[error("unknown OAuth client {0}")]
    UnknownClient(String),
    /// The change was refused the way the API would refuse it.
    #[error("rejected: {0}")]
    Rejected(GoogleError),
}

impl From<GoogleError> for ControlError {
    fn from(e: GoogleError) -> Self {
        ControlError::Rejected(e)
    }
}

impl ResponseError for ControlError {
    fn status_code(&self) -> StatusCode {
        match self {
            ControlError::UnknownCalendar(_)
            | ControlError::UnknownEvent(_)
            | ControlError::UnknownUser(_)
            | ControlError::UnknownRefreshToken
            | ControlError::UnknownClient(_) => StatusCode::NOT_FOUND,
            ControlError::UserExists(_) | ControlError::RefreshTokenInUse => StatusCode::CONFLICT,
            ControlError::Rejected(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ControlError::Rejected(e) => e.error_response(),
            other => {
                HttpResponse::build(other.status_code()).json(json!({"error": other.to_string()}))
            }
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Binding the listening socket failed.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address from the configuration.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration is inconsistent.
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    /// Building the HTTP client for notifications failed.
    #[error("building the notification client: {0}")]
    Client(#[from] reqwest::Error),
}
