//! Calendar v3 `calendars` (insert, get, patch, update, delete) and `calendarList` (list, get)
//! endpoints. Scope rules are in [`crate::scopes`]; the data rules in the store.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::Caller;
use super::errors::GoogleError;
use super::scopes::Op;
use super::state::Shared;

fn json_body(body: &[u8]) -> Result<Value, GoogleError> {
    serde_json::from_slice(body).map_err(|_| GoogleError::parse_error())
}

/// `POST /calendars`.
pub async fn insert(
    shared: web::Data<Shared>,
    caller: Caller,
    body: web::Bytes,
) -> Result<HttpResponse, GoogleError> {
    caller.token.require_on(Op::CalendarsInsert, None)?;
    let body = json_body(&body)?;
    let now = shared.now();
    let created =
        shared
            .store()
            .insert_calendar(&caller.email, Some(&caller.token.client_id), body, now)?;
    Ok(HttpResponse::Ok().json(created))
}

/// `GET /calendars/{calendarId}`.
pub async fn get(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, GoogleError> {
    let store = shared.store();
    let id = store.authorize(&caller.email, &caller.token, &path, Op::CalendarsGet)?;
    let cal = store.calendar(&id).ok_or_else(GoogleError::not_found)?;
    Ok(HttpResponse::Ok().json(cal.resource()))
}

fn write(
    shared: &Shared,
    caller: &Caller,
    calendar: &str,
    body: &[u8],
    replace: bool,
) -> Result<HttpResponse, GoogleError> {
    let method = if replace {
        "calendar.v3.Calendars.Update"
    } else {
        "calendar.v3.Calendars.Patch"
    };
    let body = json_body(body)?;
    let now = shared.now();
    let mut store = shared.store();
    let id = store.authorize(
        &caller.email,
        &caller.token,
        calendar,
        Op::CalendarsWrite(method),
    )?;
    let out = store.write_calendar(&id, body, replace, now)?;
    Ok(HttpResponse::Ok().json(out))
}

/// `PATCH /calendars/{calendarId}`.
pub async fn patch(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, GoogleError> {
    write(&shared, &caller, &path, &body, false)
}

/// `PUT /calendars/{calendarId}`.
pub async fn update(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, GoogleError> {
    write(&shared, &caller, &path, &body, true)
}

/// `DELETE /calendars/{calendarId}`: 204 with an empty body.
pub async fn delete(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, GoogleError> {
    let mut store = shared.store();
    let id = store.authorize(
        &caller.email,
        &caller.token,
        &path,
        Op::CalendarsWrite("calendar.v3.Calendars.Delete"),
    )?;
    store.delete_calendar(&id)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /users/me/calendarList`: every calendar of the user on one page. Paging and sync
/// tokens are not emulated (`maxResults`, `pageToken`, `minAccessRole`, `showHidden` and
/// `showDeleted` are accepted and change nothing: the user owns every calendar listed).
pub async fn list(shared: web::Data<Shared>, caller: Caller) -> Result<HttpResponse, GoogleError> {
    caller.token.require_on(Op::CalendarListList, None)?;
    let store = shared.store();
    let items = store.calendar_list(&caller.email);
    let etag = items
        .iter()
        .filter_map(|i| i["etag"].as_str())
        .max()
        .unwrap_or("\"0\"")
        .to_owned();
    Ok(HttpResponse::Ok().json(json!({
        "kind": "calendar#calendarList",
        "etag": etag,
        "items": items,
    })))
}

/// `GET /users/me/calendarList/{calendarId}`.
pub async fn list_get(
    shared: web::Data<Shared>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, GoogleError> {
    let store = shared.store();
    let id = store.authorize(&caller.email, &caller.token, &path, Op::CalendarListGet)?;
    let entry = store
        .calendar_list_entry(&id)
        .ok_or_else(GoogleError::not_found)?;
    Ok(HttpResponse::Ok().json(entry))
}
