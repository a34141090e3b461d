//! The control functions over HTTP, under `/_emulator`, so a standalone emulator can be driven
//! with curl in a demo. Bodies are JSON; the crate README lists the endpoints. These routes
//! bypass recording, faults, auth and quota: they are not part of Google.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Control;
use crate::errors::ControlError;
use crate::faults::FaultRule;
use crate::notify::NotificationMode;
use crate::state::Shared;

fn control(shared: &web::Data<Shared>) -> Control {
    Control {
        shared: shared.clone(),
    }
}

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": message}))
}

/// Registers the control routes (mount under `/_emulator`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::post().to(add_user))
        .route("/accounts", web::post().to(add_account))
        .route("/calendars/{calendarId}/events", web::get().to(list_events))
        .route(
            "/calendars/{calendarId}/events",
            web::post().to(create_event),
        )
        .route(
            "/calendars/{calendarId}/events/{eventId}/move",
            web::post().to(move_event),
        )
        .route(
            "/calendars/{calendarId}/events/{eventId}/retitle",
            web::post().to(retitle_event),
        )
        .route(
            "/calendars/{calendarId}/events/{eventId}",
            web::delete().to(delete_event),
        )
        .route(
            "/calendars/{calendarId}/invalidate-sync-tokens",
            web::post().to(invalidate_sync_tokens),
        )
        .route("/grants/revoke", web::post().to(revoke_grant))
        .route(
            "/access-tokens/expire",
            web::post().to(expire_access_tokens),
        )
        .route("/signed-in-user", web::put().to(set_signed_in_user))
        .route("/redirect-uris", web::post().to(register_redirect_uri))
        .route("/clients", web::post().to(add_client))
        .route("/users/{email}", web::get().to(account))
        .route("/users/{email}/grants", web::get().to(grants))
        .route("/users/{email}/calendars", web::get().to(calendars))
        .route("/users/{email}/calendars", web::post().to(create_calendar))
        .route("/users/{email}/time-zone", web::put().to(set_time_zone))
        .route("/calendars/{calendarId}", web::delete().to(delete_calendar))
        .route(
            "/calendars/{calendarId}/rename",
            web::post().to(rename_calendar),
        )
        .route("/faults", web::post().to(add_fault))
        .route("/faults", web::delete().to(clear_faults))
        .route("/notification-mode", web::put().to(set_notification_mode))
        .route("/quota", web::put().to(set_quota))
        .route("/requests", web::get().to(requests))
        .route("/notifications", web::get().to(notifications))
        .route("/records", web::delete().to(clear_records))
        .route("/channels", web::get().to(channels));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUser {
    email: String,
    refresh_token: Option<String>,
}

async fn add_user(
    shared: web::Data<Shared>,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ControlError> {
    let user =
        control(&shared).add_user_with_refresh_token(&body.email, body.refresh_token.as_deref())?;
    Ok(HttpResponse::Ok().json(user))
}

#[derive(Deserialize)]
struct NewAccount {
    email: String,
}

async fn add_account(
    shared: web::Data<Shared>,
    body: web::Json<NewAccount>,
) -> Result<HttpResponse, ControlError> {
    Ok(HttpResponse::Ok().json(control(&shared).add_account(&body.email)?))
}

async fn list_events(shared: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"items": control(&shared).events(&path)}))
}

async fn create_event(
    shared: web::Data<Shared>,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ControlError> {
    let event = control(&shared).user_create_event_json(&path, body.into_inner())?;
    Ok(HttpResponse::Ok().json(event))
}

#[derive(Deserialize)]
struct Move {
    start: Value,
    end: Value,
}

async fn move_event(
    shared: web::Data<Shared>,
    path: web::Path<(String, String)>,
    body: web::Json<Move>,
) -> Result<HttpResponse, ControlError> {
    let (calendar, event) = path.into_inner();
    let Move { start, end } = body.into_inner();
    let event =
        control(&shared).user_patch(&calendar, &event, json!({"start": start, "end": end}))?;
    Ok(HttpResponse::Ok().json(event))
}

#[derive(Deserialize)]
struct Retitle {
    summary: String,
}

async fn retitle_event(
    shared: web::Data<Shared>,
    path: web::Path<(String, String)>,
    body: web::Json<Retitle>,
) -> Result<HttpResponse, ControlError> {
    let (calendar, event) = path.into_inner();
    let event = control(&shared).user_retitle_event(&calendar, &event, &body.summary)?;
    Ok(HttpResponse::Ok().json(event))
}

async fn delete_event(
    shared: web::Data<Shared>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ControlError> {
    let (calendar, event) = path.into_inner();
    control(&shared).user_delete_event(&calendar, &event)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn invalidate_sync_tokens(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ControlError> {
    control(&shared).invalidate_sync_tokens(&path)?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Revoke {
    refresh_token: String,
}

async fn revoke_grant(
    shared: web::Data<Shared>,
    body: web::Json<Revoke>,
) -> Result<HttpResponse, ControlError> {
    control(&shared).revoke_grant(&body.refresh_token)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn expire_access_tokens(shared: web::Data<Shared>) -> HttpResponse {
    control(&shared).expire_access_tokens();
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct SignedInBody {
    email: Option<String>,
}

async fn set_signed_in_user(
    shared: web::Data<Shared>,
    body: web::Json<SignedInBody>,
) -> Result<HttpResponse, ControlError> {
    control(&shared).set_signed_in_user(body.email.as_deref())?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct RedirectUriBody {
    uri: String,
}

async fn register_redirect_uri(
    shared: web::Data<Shared>,
    body: web::Json<RedirectUriBody>,
) -> Result<HttpResponse, ControlError> {
    control(&shared).register_redirect_uri(&body.uri)?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientBody {
    client_id: String,
    client_secret: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
}

async fn add_client(shared: web::Data<Shared>, body: web::Json<ClientBody>) -> HttpResponse {
    let uris: Vec<&str> = body.redirect_uris.iter().map(String::as_str).collect();
    control(&shared).add_client(&body.client_id, &body.client_secret, &uris);
    HttpResponse::NoContent().finish()
}

async fn account(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ControlError> {
    Ok(HttpResponse::Ok().json(control(&shared).account(&path)?))
}

async fn grants(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ControlError> {
    Ok(HttpResponse::Ok().json(control(&shared).grants(&path)?))
}

async fn calendars(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ControlError> {
    Ok(HttpResponse::Ok().json(control(&shared).calendars(&path)?))
}

#[derive(Deserialize)]
struct SummaryBody {
    summary: String,
}

async fn create_calendar(
    shared: web::Data<Shared>,
    path: web::Path<String>,
    body: web::Json<SummaryBody>,
) -> Result<HttpResponse, ControlError> {
    let id = control(&shared).user_create_calendar(&path, &body.summary)?;
    Ok(HttpResponse::Ok().json(json!({ "id": id })))
}

async fn rename_calendar(
    shared: web::Data<Shared>,
    path: web::Path<String>,
    body: web::Json<SummaryBody>,
) -> Result<HttpResponse, ControlError> {
    control(&shared).user_rename_calendar(&path, &body.summary)?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeZoneBody {
    time_zone: String,
}

async fn set_time_zone(
    shared: web::Data<Shared>,
    path: web::Path<String>,
    body: web::Json<TimeZoneBody>,
) -> Result<HttpResponse, ControlError> {
    control(&shared).set_primary_time_zone(&path, &body.time_zone)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn delete_calendar(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ControlError> {
    control(&shared).user_delete_calendar(&path)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn add_fault(shared: web::Data<Shared>, body: web::Json<FaultRule>) -> HttpResponse {
    control(&shared).inject_fault(body.into_inner());
    HttpResponse::NoContent().finish()
}

async fn clear_faults(shared: web::Data<Shared>) -> HttpResponse {
    control(&shared).clear_faults();
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModeBody {
    mode: String,
    delay_ms: Option<u64>,
}

async fn set_notification_mode(
    shared: web::Data<Shared>,
    body: web::Json<ModeBody>,
) -> HttpResponse {
    let mode = match (body.mode.as_str(), body.delay_ms) {
        ("normal", _) => NotificationMode::Normal,
        ("drop", _) => NotificationMode::Drop,
        ("duplicate", _) => NotificationMode::Duplicate,
        ("delay", Some(ms)) => NotificationMode::Delay(Duration::from_millis(ms)),
        _ => return bad_request("mode must be normal, drop, duplicate, or delay with delayMs"),
    };
    control(&shared).set_notification_mode(mode);
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QuotaBody {
    per_user_per_minute: Option<u32>,
}

async fn set_quota(shared: web::Data<Shared>, body: web::Json<QuotaBody>) -> HttpResponse {
    control(&shared).set_quota(body.per_user_per_minute);
    HttpResponse::NoContent().finish()
}

async fn requests(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(control(&shared).requests())
}

async fn notifications(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(control(&shared).notifications())
}

async fn clear_records(shared: web::Data<Shared>) -> HttpResponse {
    control(&shared).clear_records();
    HttpResponse::NoContent().finish()
}

async fn channels(shared: web::Data<Shared>) -> HttpResponse {
    let list: Vec<Value> = control(&shared)
        .channels()
        .into_iter()
        .map(|c| {
            json!({
                "id": c.id,
                "resourceId": c.resource_id,
                "calendarId": c.calendar_id,
                "address": c.address,
                "token": c.token,
                "expiration": c.expiration.timestamp_millis().to_string(),
                "stopped": c.stopped,
                "lastMessageNumber": c.last_message,
            })
        })
        .collect();
    HttpResponse::Ok().json(list)
}
