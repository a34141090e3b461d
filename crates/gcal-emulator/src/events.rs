//! Calendar `events` endpoints: list, get, insert, update, patch and delete, under the same
//! paths as `https://www.googleapis.com/calendar/v3`. Handlers translate HTTP (path, headers,
//! body) into store calls; Google's rules live in the store.

use actix_web::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::auth::Caller;
use super::config::TombstoneWrite;
use super::errors::GoogleError;
use super::scopes::Op;
use super::state::Shared;
use super::store::{ListQuery, Store};

fn json_body(body: &[u8]) -> Result<Value, GoogleError> {
    serde_json::from_slice(body).map_err(|_| GoogleError::parse_error())
}

fn header(req: &HttpRequest, name: actix_web::http::header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn event_response(event: &Value) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    if let Some(etag) = event.get("etag").and_then(Value::as_str) {
        res.insert_header((ETAG, etag.to_owned()));
    }
    res.json(event)
}

/// `GET /calendars/{calendarId}/events`.
pub async fn list(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, GoogleError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let query = ListQuery::parse(&pairs)?;
    let store = shared.store();
    let calendar = store.authorize(
        &caller.email,
        &caller.token,
        &path,
        Op::EventsRead("calendar.v3.Events.List"),
    )?;
    let page = store.list_events(
        &calendar,
        &query,
        shared.config.omit_sync_token_with_filters,
    )?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /calendars/{calendarId}/events/{eventId}`; deleted events are returned too, with
/// `status: cancelled`. `If-None-Match` with the current etag answers 304.
pub async fn get(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, GoogleError> {
    let (calendar, event_id) = path.into_inner();
    let store = shared.store();
    let calendar = store.authorize(
        &caller.email,
        &caller.token,
        &calendar,
        Op::EventsRead("calendar.v3.Events.Get"),
    )?;
    let event = store
        .calendar(&calendar)
        .and_then(|c| c.events.get(&event_id))
        .ok_or_else(GoogleError::not_found)?;
    if header(&req, IF_NONE_MATCH) == Some(event.etag()) {
        return Ok(HttpResponse::NotModified().finish());
    }
    Ok(event_response(&event.full()))
}

/// `POST /calendars/{calendarId}/events`.
pub async fn insert(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, GoogleError> {
    let calendar = shared.store().authorize(
        &caller.email,
        &caller.token,
        &path,
        Op::EventsWrite("calendar.v3.Events.Insert"),
    )?;
    let body = json_body(&body)?;
    let event = shared.write(&calendar, |store, now| {
        store.insert_event(&calendar, body, now)
    })?;
    Ok(event_response(&event))
}

/// A write to one existing event: full replacement (`update`) or merge (`patch`).
type EventWrite = fn(
    &mut Store,
    &str,
    &str,
    Value,
    Option<&str>,
    TombstoneWrite,
    DateTime<Utc>,
) -> Result<Value, GoogleError>;

/// `PUT /calendars/{calendarId}/events/{eventId}`.
pub async fn update(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, GoogleError> {
    write_event(
        &shared,
        &caller,
        path.into_inner(),
        &req,
        &body,
        (Store::update_event, "calendar.v3.Events.Update"),
    )
}

/// `PATCH /calendars/{calendarId}/events/{eventId}`.
pub async fn patch(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, GoogleError> {
    write_event(
        &shared,
        &caller,
        path.into_inner(),
        &req,
        &body,
        (Store::patch_event, "calendar.v3.Events.Patch"),
    )
}

/// The common part of update and patch: resolve the calendar, read the body and `If-Match`,
/// apply `write` under the calendar's write lock.
fn write_event(
    shared: &Shared,
    caller: &Caller,
    (calendar, event_id): (String, String),
    req: &HttpRequest,
    body: &[u8],
    (write, method): (EventWrite, &'static str),
) -> Result<HttpResponse, GoogleError> {
    let calendar = shared.store().authorize(
        &caller.email,
        &caller.token,
        &calendar,
        Op::EventsWrite(method),
    )?;
    let body = json_body(body)?;
    let if_match = header(req, IF_MATCH);
    let tombstone = shared.config.tombstone_write;
    let event = shared.write(&calendar, |store, now| {
        write(store, &calendar, &event_id, body, if_match, tombstone, now)
    })?;
    Ok(event_response(&event))
}

/// `DELETE /calendars/{calendarId}/events/{eventId}`: 204 with an empty body; 410 `deleted`
/// when the event is already deleted.
pub async fn delete(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, GoogleError> {
    let (calendar, event_id) = path.into_inner();
    let calendar = shared.store().authorize(
        &caller.email,
        &caller.token,
        &calendar,
        Op::EventsWrite("calendar.v3.Events.Delete"),
    )?;
    let if_match = header(&req, IF_MATCH);
    shared.write(&calendar, |store, now| {
        store.delete_event(&calendar, &event_id, if_match, now)
    })?;
    Ok(HttpResponse::NoContent().finish())
}
