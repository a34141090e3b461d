//! `events.watch` and `channels.stop`. A new channel gets its `sync` message (number 1) right
//! away: it may reach the receiver before the watch response does, as with Google.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::errors::GoogleError;
use super::scopes::Op;
use super::state::Shared;
use super::store::NewChannel;

/// The `Channel` body of a watch request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WatchRequest {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    address: Option<String>,
    token: Option<String>,
    /// Milliseconds since the epoch, as a number or a numeric string.
    expiration: Option<Value>,
    #[serde(default)]
    params: Option<serde_json::Map<String, Value>>,
}

/// A JSON number or numeric string as i64 (Google encodes int64 as strings).
fn int_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The granted expiration: the earliest of what was asked (`expiration`, `params.ttl`, or the
/// default ttl when neither is given) and now + the configured maximum.
fn granted_expiration(
    shared: &Shared,
    req: &WatchRequest,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, GoogleError> {
    let to_chrono =
        |d: std::time::Duration| ChronoDuration::from_std(d).unwrap_or(ChronoDuration::MAX);
    let max = now + to_chrono(shared.config.max_channel_lifetime);
    let asked_at = match &req.expiration {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            int_value(v)
                .and_then(DateTime::<Utc>::from_timestamp_millis)
                .ok_or_else(|| GoogleError::invalid("Invalid value for: expiration"))?,
        ),
    };
    let ttl = match req.params.as_ref().and_then(|p| p.get("ttl")) {
        None => None,
        Some(v) => Some(
            int_value(v)
                .filter(|s| *s > 0)
                .map(|s| now + ChronoDuration::seconds(s))
                .ok_or_else(|| GoogleError::invalid("Invalid value for: params.ttl"))?,
        ),
    };
    let asked = match (asked_at, ttl) {
        (Some(a), Some(t)) => a.min(t),
        (Some(a), None) => a,
        (None, Some(t)) => t,
        (None, None) => now + to_chrono(shared.config.default_channel_ttl),
    };
    Ok(asked.min(max))
}

/// `POST /calendars/{calendarId}/events/watch`.
pub async fn watch(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, GoogleError> {
    let calendar = shared.store().authorize(
        &caller.email,
        &caller.token,
        &path,
        Op::EventsRead("calendar.v3.Events.Watch"),
    )?;
    let req: WatchRequest =
        serde_json::from_slice(&body).map_err(|_| GoogleError::parse_error())?;
    let id = req
        .id
        .clone()
        .ok_or_else(|| GoogleError::required("Required: id"))?;
    if !matches!(req.kind.as_deref(), Some("web_hook" | "webhook")) {
        return Err(GoogleError::invalid("Invalid value for: type"));
    }
    let address = req
        .address
        .clone()
        .filter(|a| url::Url::parse(a).is_ok_and(|u| u.host().is_some()))
        .ok_or_else(|| {
            GoogleError::new(
                400,
                "push",
                "push.webhookUrlNoHostOrAddress",
                "WebHook callback must have a host or address",
            )
        })?;
    if shared.config.require_https_address && !address.starts_with("https://") {
        return Err(GoogleError::new(
            400,
            "push",
            "push.webhookUrlNotHttps",
            &format!("WebHook callback must be HTTPS: {address}"),
        ));
    }
    if req.token.as_ref().is_some_and(|t| t.len() > 256) {
        return Err(GoogleError::invalid("Invalid value for: token"));
    }
    let now = shared.now();
    let expiration = granted_expiration(&shared, &req, now)?;
    let resource_uri = format!(
        "{}/calendars/{}/events?alt=json",
        shared.urls.api_base, calendar
    );
    let channel = {
        let mut store = shared.store();
        let (channel, sync) = store.add_channel(NewChannel {
            id,
            address,
            token: req.token.clone(),
            expiration,
            calendar_id: calendar,
            owner: caller.email,
            resource_uri,
        })?;
        // Under the store lock, like `Shared::write`: the `sync` message is logged before any
        // change to the calendar can notify this channel.
        shared.notifier.send(vec![sync]);
        channel
    };
    let millis = channel.expiration.timestamp_millis();
    let mut out = json!({
        "kind": "api#channel",
        "id": channel.id,
        "resourceId": channel.resource_id,
        "resourceUri": channel.resource_uri,
        "expiration": if shared.config.expiration_as_string { json!(millis.to_string()) } else { json!(millis) },
    });
    if let (Some(token), Some(obj)) = (channel.token, out.as_object_mut()) {
        obj.insert("token".to_owned(), json!(token));
    }
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopRequest {
    id: Option<String>,
    resource_id: Option<String>,
}

/// `POST /channels/stop`: 204 with an empty body; 404 for an unknown or stopped channel.
pub async fn stop(
    shared: web::Data<Shared>,
    caller: Caller,
    body: web::Bytes,
) -> Result<HttpResponse, GoogleError> {
    caller.token.require(Op::ChannelsStop)?;
    let req: StopRequest = serde_json::from_slice(&body).map_err(|_| GoogleError::parse_error())?;
    let id = req
        .id
        .ok_or_else(|| GoogleError::required("Required: id"))?;
    let resource_id = req
        .resource_id
        .ok_or_else(|| GoogleError::required("Required: resourceId"))?;
    shared
        .store()
        .stop_channel(&caller.email, &id, &resource_id)?;
    Ok(HttpResponse::NoContent().finish())
}
