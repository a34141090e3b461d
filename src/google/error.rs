//! What can go wrong talking to Google, as decisions the caller matches on.
//!
//! Classification follows Google's documented error model (status plus
//! `error.errors[0].reason`); see `classify` for the table.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;

use crate::retry::{Classify, Failure, Parked};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GoogleError {
    /// 410 `fullSyncRequired` (or `updatedMinTooLongAgo`, or a 410 without a readable body):
    /// the sync token is no longer valid; run a full sync.
    #[error("sync token is no longer valid; a full sync is required")]
    SyncTokenGone,
    /// 429, or 403 with `rateLimitExceeded` / `userRateLimitExceeded` / `quotaExceeded`.
    /// Retry after `retry_after` when Google said, otherwise with backoff; `scope` says whose
    /// budget Google found spent (the shared quota shrinks that one for a while).
    #[error("rate limited by Google (retry after {retry_after:?})")]
    RateLimited {
        retry_after: Option<Duration>,
        scope: RateScope,
    },
    /// 5xx, a timeout or a connection error: retry with backoff.
    #[error("transient failure talking to Google: {0}")]
    Transient(String),
    /// The refresh token was revoked or expired (`invalid_grant`): the user must reconnect.
    #[error("the user's Google grant was revoked or expired")]
    GrantRevoked,
    /// Google rejected our OAuth client (`invalid_client`, `unauthorized_client`):
    /// a configuration error, not the user's.
    #[error("Google rejected the OAuth client: {0}")]
    ClientRejected(String),
    /// 401 on an API call: the access token is not (or no longer) accepted.
    #[error("access token rejected by Google")]
    Unauthorized,
    /// 404: the calendar or event does not exist (or is not visible to the user).
    #[error("not found at Google")]
    NotFound,
    /// 410 `deleted`: the event was already deleted.
    #[error("already deleted at Google")]
    AlreadyDeleted,
    /// 409 `duplicate`: an event with that id exists (or existed).
    #[error("an event with that id already exists")]
    Duplicate,
    /// 412 `conditionNotMet`: the `If-Match` etag is stale.
    #[error("the event changed since the etag we hold")]
    PreconditionFailed,
    /// Any other 403: permanent for this request.
    #[error("forbidden by Google ({reason})")]
    Forbidden { reason: String },
    /// Any other 4xx: the request is wrong; retrying will not help.
    #[error("Google rejected the request with {status} ({reason}): {message}")]
    Rejected {
        status: u16,
        reason: String,
        message: String,
    },
    /// A 2xx whose body could not be read as expected.
    #[error("unexpected response from Google: {0}")]
    Decode(String),
    /// Google's answer went past one of calsync's bounds; nothing more of it was read.
    #[error("Google's answer exceeded {0}")]
    LimitExceeded(Limit),
}

/// Whose budget a rate limit says is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateScope {
    /// `userRateLimitExceeded`, `quotaExceeded`: the user's.
    User,
    /// `rateLimitExceeded` (403 or 429), or a 429 without a reason: the project's.
    Project,
}

/// Which bound an answer went past, with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A response body longer than this many bytes.
    BodyBytes(usize),
    /// A listing with more pages than this.
    Pages(usize),
    /// A listing with more events than this.
    Events(usize),
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BodyBytes(n) => {
                write!(f, "the body size cap of {n} bytes (GOOGLE_MAX_BODY_BYTES)")
            }
            Self::Pages(n) => write!(f, "the cap of {n} pages per listing (SYNC_MAX_PAGES)"),
            Self::Events(n) => write!(f, "the cap of {n} events per listing (SYNC_MAX_EVENTS)"),
        }
    }
}

impl Classify for GoogleError {
    /// Rate limits and transient failures may succeed later; a second 401 after a refresh
    /// is treated as transient (Google's token service lagging); a revoked grant needs the
    /// user; everything else fails the same way every time.
    fn classify(&self) -> Failure {
        match self {
            Self::RateLimited { retry_after, .. } => Failure::RateLimited {
                retry_after: *retry_after,
            },
            Self::Transient(_) | Self::Unauthorized => Failure::Transient,
            Self::GrantRevoked => Failure::NeedsAction(Parked::GrantRevoked),
            Self::SyncTokenGone
            | Self::ClientRejected(_)
            | Self::NotFound
            | Self::AlreadyDeleted
            | Self::Duplicate
            | Self::PreconditionFailed
            | Self::Forbidden { .. }
            | Self::Rejected { .. }
            | Self::Decode(_)
            // The same calendar answers the same way next time; the backstop tries again.
            | Self::LimitExceeded(_) => Failure::Permanent,
        }
    }
}

impl GoogleError {
    /// A failed transport (connect, timeout, broken body) is always transient.
    pub fn from_transport(e: &reqwest::Error) -> Self {
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        Self::Transient(what.to_owned())
    }
}

#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    error: ApiErrorInner,
}

#[derive(Debug, Deserialize)]
struct ApiErrorInner {
    #[serde(default)]
    errors: Vec<ApiErrorItem>,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct ApiErrorItem {
    #[serde(default)]
    reason: String,
}

/// Classifies a non-2xx Calendar API response.
///
/// | status | reason | decision |
/// |---|---|---|
/// | 401 | any | `Unauthorized` (refresh the token once) |
/// | 403 | rate/quota reasons | `RateLimited` |
/// | 403 | other | `Forbidden` |
/// | 404 | any | `NotFound` |
/// | 409 | any | `Duplicate` |
/// | 410 | `deleted` | `AlreadyDeleted` |
/// | 410 | other or unreadable | `SyncTokenGone` |
/// | 412 | any | `PreconditionFailed` |
/// | 429 | any | `RateLimited` |
/// | 5xx | any | `Transient` |
/// | other 4xx | any | `Rejected` |
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> GoogleError {
    let parsed: Option<ApiErrorBody> = serde_json::from_slice(body).ok();
    let reason = parsed
        .as_ref()
        .and_then(|b| b.error.errors.first())
        .map(|i| i.reason.clone())
        .unwrap_or_default();
    let message = parsed.map(|b| b.error.message).unwrap_or_default();
    let retry_after = || retry_after(headers, Utc::now());
    match status.as_u16() {
        401 => GoogleError::Unauthorized,
        403 if matches!(
            reason.as_str(),
            "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded"
        ) =>
        {
            GoogleError::RateLimited {
                retry_after: retry_after(),
                scope: if reason == "rateLimitExceeded" {
                    RateScope::Project
                } else {
                    RateScope::User
                },
            }
        }
        403 => GoogleError::Forbidden { reason },
        404 => GoogleError::NotFound,
        409 => GoogleError::Duplicate,
        410 if reason == "deleted" => GoogleError::AlreadyDeleted,
        410 => GoogleError::SyncTokenGone,
        412 => GoogleError::PreconditionFailed,
        429 => GoogleError::RateLimited {
            retry_after: retry_after(),
            scope: if reason == "userRateLimitExceeded" {
                RateScope::User
            } else {
                RateScope::Project
            },
        },
        s if s >= 500 => GoogleError::Transient(format!("HTTP {s}")),
        s => GoogleError::Rejected {
            status: s,
            reason,
            message,
        },
    }
}

/// A sent request's answer: status, headers and body, the body read up to `max_body` bytes
/// (a longer one is `LimitExceeded`, whatever its `Content-Length` says). A transport
/// failure at any point (connect, timeout, broken body) is `Transient`.
pub async fn exchange(
    request: reqwest::RequestBuilder,
    max_body: usize,
) -> Result<(StatusCode, HeaderMap, bytes::Bytes), GoogleError> {
    let mut response = request
        .send()
        .await
        .map_err(|e| GoogleError::from_transport(&e))?;
    let too_large = GoogleError::LimitExceeded(Limit::BodyBytes(max_body));
    if response
        .content_length()
        .is_some_and(|n| n > u64::try_from(max_body).unwrap_or(u64::MAX))
    {
        return Err(too_large);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| GoogleError::from_transport(&e))?
    {
        if body.len() + chunk.len() > max_body {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, body.freeze()))
}

/// `Retry-After` as a delay: either delta-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(raw).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn body(code: u16, reason: &str) -> Vec<u8> {
        format!(
            r#"{{"error":{{"errors":[{{"domain":"x","reason":"{reason}","message":"m"}}],"code":{code},"message":"msg"}}}}"#
        )
        .into_bytes()
    }

    fn classify_simple(code: u16, reason: &str) -> GoogleError {
        classify(
            StatusCode::from_u16(code).unwrap(),
            &HeaderMap::new(),
            &body(code, reason),
        )
    }

    #[test]
    fn decisions_follow_status_and_reason() {
        assert_eq!(
            classify_simple(410, "fullSyncRequired"),
            GoogleError::SyncTokenGone
        );
        assert_eq!(
            classify_simple(410, "updatedMinTooLongAgo"),
            GoogleError::SyncTokenGone
        );
        assert_eq!(classify_simple(410, "deleted"), GoogleError::AlreadyDeleted);
        assert_eq!(
            classify(StatusCode::GONE, &HeaderMap::new(), b"<html>"),
            GoogleError::SyncTokenGone
        );
        for reason in [
            "rateLimitExceeded",
            "userRateLimitExceeded",
            "quotaExceeded",
        ] {
            assert!(matches!(
                classify_simple(403, reason),
                GoogleError::RateLimited { .. }
            ));
        }
        assert_eq!(
            classify_simple(403, "forbiddenForNonOrganizer"),
            GoogleError::Forbidden {
                reason: "forbiddenForNonOrganizer".into()
            }
        );
        assert!(matches!(
            classify_simple(429, "rateLimitExceeded"),
            GoogleError::RateLimited { .. }
        ));
        assert_eq!(classify_simple(401, "authError"), GoogleError::Unauthorized);
        assert_eq!(classify_simple(404, "notFound"), GoogleError::NotFound);
        assert_eq!(classify_simple(409, "duplicate"), GoogleError::Duplicate);
        assert_eq!(
            classify_simple(412, "conditionNotMet"),
            GoogleError::PreconditionFailed
        );
        for s in [500, 502, 503, 504] {
            assert_eq!(
                classify_simple(s, "backendError").classify(),
                Failure::Transient
            );
        }
        assert!(matches!(
            classify_simple(400, "invalid"),
            GoogleError::Rejected { status: 400, .. }
        ));
        assert_eq!(
            classify_simple(400, "invalid").classify(),
            Failure::Permanent
        );
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, &h, b""),
            GoogleError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        let now = DateTime::parse_from_rfc3339("2013-11-19T01:13:40Z")
            .unwrap()
            .with_timezone(&Utc);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Tue, 19 Nov 2013 01:13:52 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(12)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn an_enormous_retry_after_is_clamped_by_the_policy() {
        use crate::retry::{Decision, RetryPolicy, Work};
        let policy = RetryPolicy::default();
        let now = Utc::now();
        for raw in ["18446744073709551615", "Fri, 31 Dec 9999 23:59:59 GMT"] {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_str(raw).unwrap());
            let failure = classify(StatusCode::TOO_MANY_REQUESTS, &h, b"").classify();
            assert!(matches!(
                failure,
                Failure::RateLimited {
                    retry_after: Some(_)
                }
            ));
            assert_eq!(
                policy.in_run(failure, 1),
                None,
                "{raw}: not waited for in a run"
            );
            for work in [Work::Job, Work::OutboxCase] {
                let Decision::Requeue(d) = policy.decide(work, failure, 1) else {
                    panic!("{raw}: {work:?} is requeued");
                };
                assert!(d <= policy.retry_after_cap.max(policy.cap), "{raw}: {d:?}");
            }
        }
        // Past u64 seconds: unreadable, so the ordinary backoff applies.
        let mut h = HeaderMap::new();
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("184467440737095516160"),
        );
        assert_eq!(retry_after(&h, now), None);
    }
}
