//! The user API: JSON, behind the tracker's JWT, each user's own data only.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::auth::AuthUser;
use super::{ApiError, AppState};
use crate::connect::manage::{self, CalendarOnDisconnect};
use crate::connect::{ConnectService, status};
use crate::db::DbError;
use crate::db::models::{case, case_event_link, sync_audit};
use crate::ids::CaseId;

fn service(state: &AppState) -> Result<&ConnectService, ApiError> {
    state.connect.as_deref().ok_or(ApiError::NotFound)
}

/// `GET /api/google-calendar/status`.
pub async fn get_status(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let svc = service(&state)?;
    let required: Vec<&'static str> = svc.config.mode.required_scopes().to_vec();
    let user_id = user.0;
    let status = svc
        .sync
        .db
        .run(move |conn| Ok::<_, DbError>(status::read(conn, user_id, &required)?))
        .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// `POST /api/google-calendar/pause`.
pub async fn pause(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    manage::pause(service(&state)?, user.0).await?;
    get_status(state, user).await
}

/// `POST /api/google-calendar/resume`.
pub async fn resume(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    manage::resume(service(&state)?, user.0).await?;
    get_status(state, user).await
}

/// `POST /api/google-calendar/resync`.
pub async fn resync(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    manage::resync(service(&state)?, &state.queue, user.0).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({"resync": "queued"})))
}

#[derive(Deserialize)]
pub struct DisconnectQuery {
    calendar: Option<String>,
}

/// `DELETE /api/google-calendar?calendar=delete|keep` (default `keep`).
pub async fn disconnect(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<DisconnectQuery>,
) -> Result<HttpResponse, ApiError> {
    let what = match query.calendar.as_deref() {
        None | Some("keep") => CalendarOnDisconnect::Keep,
        Some("delete") => CalendarOnDisconnect::Delete,
        Some(_) => return Err(ApiError::BadRequest("calendar must be `delete` or `keep`")),
    };
    manage::disconnect(service(&state)?, user.0, what).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
struct DeadlineEvent {
    deadline_kind: String,
    calendar_id: String,
    event_id: String,
    date: Option<chrono::NaiveDate>,
    dismissed: bool,
    removed: bool,
    last_synced_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
struct AuditItem {
    field: String,
    old_value: Option<chrono::NaiveDate>,
    new_value: Option<chrono::NaiveDate>,
    outcome: String,
    conflict: bool,
    recorded_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/cases/{id}/calendar`: each deadline's event and the case's audit trail. Another
/// user's case is not found.
pub async fn case_calendar(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let svc = service(&state)?;
    let case_id: CaseId = path
        .parse::<uuid::Uuid>()
        .map(CaseId)
        .map_err(|_| ApiError::NotFound)?;
    let user_id = user.0;
    let found = svc
        .sync
        .db
        .run(move |conn| {
            let Some(c) = case::find(conn, case_id)?.filter(|c| c.user_id == user_id) else {
                return Ok::<_, DbError>(None);
            };
            Ok(Some((
                c,
                case_event_link::list_for_case(conn, case_id)?,
                sync_audit::list_for_case(conn, case_id)?,
            )))
        })
        .await?;
    let (_, links, audit) = found.ok_or(ApiError::NotFound)?;
    let events: Vec<DeadlineEvent> = links
        .into_iter()
        .filter(|l| l.user_id == user_id)
        .map(|l| DeadlineEvent {
            deadline_kind: l.deadline_kind,
            calendar_id: l.calendar_id,
            event_id: l.google_event_id,
            date: l.synced_date,
            dismissed: l.dismissed,
            removed: l.removed,
            last_synced_at: l.updated_at,
        })
        .collect();
    let audit: Vec<AuditItem> = audit
        .into_iter()
        .filter(|a| a.user_id == user_id)
        .map(|a| AuditItem {
            field: a.field,
            old_value: a.old_value,
            new_value: a.new_value,
            outcome: a.outcome,
            conflict: a.conflict,
            recorded_at: a.recorded_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "case_id": case_id,
        "events": events,
        "audit": audit,
    })))
}
