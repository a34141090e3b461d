//! The connect flow over HTTP: the tracker asks for a link (`POST /api/google-calendar/connect`,
//! JWT), the browser opens it (`GET /oauth/google/start`) and Google sends it back
//! (`GET /oauth/google/callback`). Values of links, states, codes and cookies are never logged.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::auth::AuthUser;
use super::{ApiError, AppState};
use crate::connect::ConnectService;
use crate::connect::flow::{self, BROWSER_COOKIE, CallbackOutcome, CallbackParams};

fn service(state: &AppState) -> Result<&ConnectService, ApiError> {
    state.connect.as_deref().ok_or(ApiError::NotFound)
}

/// `POST /api/google-calendar/connect`: a one-time URL for the user's browser.
pub async fn connect(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let svc = service(&state)?;
    let url = flow::begin(svc, user.0).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "url": url,
        "expires_in": flow::FLOW_LIFETIME.num_seconds(),
    })))
}

#[derive(Deserialize)]
pub struct StartQuery {
    link: Option<String>,
}

/// `GET /oauth/google/start?link=…`: binds this browser to the flow and goes to Google.
pub async fn start(
    state: web::Data<AppState>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, ApiError> {
    let svc = service(&state)?;
    let Some(link) = query.link.as_deref() else {
        return Ok(error_page("This connect link is incomplete."));
    };
    match flow::open_link(svc, link).await? {
        None => Ok(error_page(
            "This connect link was already used or has expired. Start again from the tracker.",
        )),
        Some(redirect) => Ok(to_google(svc, &redirect)),
    }
}

/// `GET /oauth/google/callback`: Google's answer.
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CallbackParams>,
) -> Result<HttpResponse, ApiError> {
    let svc = service(&state)?;
    let browser = cookie(&req, BROWSER_COOKIE);
    let outcome = flow::callback(svc, &query, browser.as_deref()).await?;
    Ok(match outcome {
        CallbackOutcome::Refused(message) => error_page(message),
        CallbackOutcome::Return(url) => {
            let mut res = found(&url);
            set_cookie(svc, &mut res, "", 0);
            res
        }
        CallbackOutcome::Again(redirect) => to_google(svc, &redirect),
    })
}

fn to_google(svc: &ConnectService, redirect: &flow::Redirect) -> HttpResponse {
    let mut res = found(&redirect.location);
    set_cookie(
        svc,
        &mut res,
        &redirect.browser_cookie,
        flow::FLOW_LIFETIME.num_seconds(),
    );
    res
}

fn found(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The flow cookie: HttpOnly, SameSite=Lax (Google's redirect back is a top-level GET),
/// Secure whenever calsync is reached over https, scoped to the OAuth paths.
fn set_cookie(svc: &ConnectService, res: &mut HttpResponse, value: &str, max_age: i64) {
    let cookie = flow_cookie(&svc.config.public_base_url, value, max_age);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn flow_cookie(public_base_url: &str, value: &str, max_age: i64) -> String {
    let secure = if public_base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{BROWSER_COOKIE}={value}; Path=/oauth/google; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    )
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// A plain page saying why nothing happened (400; no detail beyond the safe message).
fn error_page(message: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Google Calendar connection</title></head>\n<body><h1>Google Calendar was not connected</h1>\n<p class=\"error\">{message}</p>\n</body></html>\n"
    );
    HttpResponse::BadRequest()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_cookie_is_secure_whenever_calsync_is_reached_over_https() {
        let https = flow_cookie("https://calsync.example.com", "v", 600);
        assert_eq!(
            https,
            "calsync_oauth_flow=v; Path=/oauth/google; Max-Age=600; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!flow_cookie("http://127.0.0.1:8080", "v", 600).contains("Secure"));
    }
}
