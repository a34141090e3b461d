//! `POST /api/webhooks/google-calendar`: Google's push notifications for watched calendars.
//!
//! Order of checks: channel id (400), channel token (401), resource state (`sync` → 200,
//! unknown → 400), message number and resource id (400), then the job is recorded in Redis
//! and only then answered 200. If Redis fails or is slower than `WEBHOOK_ENQUEUE_TIMEOUT_MS`
//! the answer is 503, which Google retries; a notification is never acknowledged unless it
//! was recorded (or coalesced into a recorded job, or covered by one). A channel answered
//! 503 is remembered (`unrecorded`) and synced once the queue answers again, in case Google
//! gives up retrying first.
//!
//! No PostgreSQL on this path: the token proves the channel is one calsync created (only
//! calsync knows the secret), and whether the channel still exists is the job's question.

use actix_web::http::header::HeaderMap;
use actix_web::{HttpRequest, HttpResponse, web};
use anyhow::anyhow;
use chrono::Utc;

use crate::channel_token;
use crate::domain::is_valid_channel_id;
use crate::http::ApiError;
use crate::http::AppState;
use crate::http::log_limit;
use crate::jobs::process_calendar_changes::ProcessCalendarChanges;
use crate::queue::EnqueueOutcome;

/// Longest `X-Goog-Resource-ID` accepted (the column holds 255).
const MAX_RESOURCE_ID: usize = 255;

pub async fn receive(
    req: HttpRequest,
    // Read (bounded by `WEBHOOK_MAX_BODY_BYTES`) and ignored: Calendar notifications carry
    // no body.
    _body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let headers = req.headers();
    let state_header = header(headers, "x-goog-resource-state");
    // A bounded set of metric labels, whatever the caller sends.
    let state_label = match state_header {
        Some(s @ ("sync" | "exists" | "not_exists")) => s,
        Some(_) => "other",
        None => "missing",
    };
    let reject = |reason: &'static str, err: ApiError| {
        state.metrics.notification(state_label, "rejected", reason);
        Err(err)
    };

    let Some(channel_id) = header(headers, "x-goog-channel-id").filter(|c| is_valid_channel_id(c))
    else {
        return reject(
            "invalid_channel_id",
            ApiError::BadRequest("missing or malformed X-Goog-Channel-ID"),
        );
    };
    let Some(token) = header(headers, "x-goog-channel-token") else {
        return reject("missing_token", ApiError::Unauthorized);
    };
    let webhook = &state.webhook;
    if !channel_token::verify(
        &webhook.channel_token_secret,
        webhook.channel_token_secret_previous.as_ref(),
        channel_id,
        token,
    ) {
        log_limit::wrong_channel_token(channel_id);
        return reject("invalid_token", ApiError::Unauthorized);
    }
    match state_header {
        Some("sync") => {
            state.metrics.notification(state_label, "ignored", "");
            return Ok(HttpResponse::Ok().finish());
        }
        Some("exists" | "not_exists") => {}
        _ => {
            return reject(
                "invalid_resource_state",
                ApiError::BadRequest("X-Goog-Resource-State must be sync, exists or not_exists"),
            );
        }
    }
    let Some(message_number) = header(headers, "x-goog-message-number")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 1)
    else {
        return reject(
            "invalid_message_number",
            ApiError::BadRequest("missing or malformed X-Goog-Message-Number"),
        );
    };
    let Some(resource_id) = header(headers, "x-goog-resource-id")
        .filter(|r| !r.is_empty() && r.len() <= MAX_RESOURCE_ID)
    else {
        return reject(
            "invalid_resource_id",
            ApiError::BadRequest("missing or malformed X-Goog-Resource-ID"),
        );
    };

    let job = ProcessCalendarChanges {
        channel_id: channel_id.to_owned(),
        resource_id: resource_id.to_owned(),
        message_number,
        received_at: Utc::now(),
    };
    let recorded = tokio::time::timeout(
        webhook.enqueue_timeout,
        state.queue.enqueue_calendar_changes(&job),
    )
    .await;
    let outcome = match recorded {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => {
            state.unrecorded.remember(channel_id, resource_id);
            state
                .metrics
                .notification(state_label, "unavailable", "queue_error");
            return Err(ApiError::Unavailable(anyhow!(e).context(format!(
                "recording notification {message_number} for channel {channel_id}"
            ))));
        }
        Err(_) => {
            state.unrecorded.remember(channel_id, resource_id);
            state
                .metrics
                .notification(state_label, "unavailable", "queue_timeout");
            return Err(ApiError::Unavailable(anyhow!(
                "recording notification {message_number} for channel {channel_id} took longer than {:?}",
                webhook.enqueue_timeout
            )));
        }
    };
    let label = match outcome {
        EnqueueOutcome::Accepted { .. } => "accepted",
        EnqueueOutcome::Coalesced { .. } => "coalesced",
        EnqueueOutcome::Duplicate => "duplicate",
    };
    state.metrics.notification(state_label, label, "");
    log::debug!("notification {message_number} for channel {channel_id}: {label}");
    Ok(HttpResponse::Ok().finish())
}

/// A header's value when present and visible ASCII (names are case-insensitive).
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
