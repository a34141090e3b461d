//! Liveness and readiness.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use diesel::RunQueryDsl;

use crate::db::DbError;
use crate::http::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process is alive and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: PostgreSQL and Redis both answer; 503 naming what is down otherwise.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db = state.db.clone();
    let pg = tokio::time::timeout(
        CHECK_TIMEOUT,
        db.run(|conn| {
            diesel::sql_query("SELECT 1")
                .execute(conn)
                .map_err(DbError::from)
        }),
    );
    let redis = tokio::time::timeout(CHECK_TIMEOUT, state.queue.ping());
    let (pg, redis) = futures::join!(pg, redis);
    let pg_ok = matches!(pg, Ok(Ok(_)));
    let redis_ok = matches!(redis, Ok(Ok(())));
    let word = |ok: bool| if ok { "ok" } else { "down" };
    let body = serde_json::json!({ "postgres": word(pg_ok), "redis": word(redis_ok) });
    if pg_ok && redis_ok {
        HttpResponse::Ok().json(body)
    } else {
        log::warn!(
            "not ready: postgres {}, redis {}",
            word(pg_ok),
            word(redis_ok)
        );
        HttpResponse::ServiceUnavailable().json(body)
    }
}
