//! Google's OAuth 2.0 endpoints, as far as a web-server app uses them: the authorization
//! endpoint (which "consents" at once as a configured test user and redirects back, so the
//! connect flow runs without a browser), the token endpoint (`authorization_code` and
//! `refresh_token` grants, form-encoded, client credentials in the body or HTTP Basic), and the
//! revocation endpoint.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::errors::OAuthError;
use super::state::{Shared, lock};
use super::store::TokenGrant;

/// Who the authorization endpoint consents as, and whether it consents at all.
#[derive(Debug, Default, Clone)]
pub struct Consent {
    /// Consenting user; when `None`, `login_hint` or the only user is used.
    pub user: Option<String>,
    /// Answer `error=access_denied` instead of a code.
    pub deny: bool,
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Client credentials from HTTP Basic (`client_secret_basic`) or the form (`client_secret_post`).
fn client_credentials(
    req: &HttpRequest,
    form: &HashMap<String, String>,
) -> Option<(String, String)> {
    let basic = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
        });
    basic.or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    })
}

fn required<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, OAuthError> {
    form.get(name).map(String::as_str).ok_or_else(|| {
        OAuthError::new(
            400,
            "invalid_request",
            &format!("Missing required parameter: {name}"),
        )
    })
}

/// `POST /token`.
pub async fn token(
    shared: web::Data<Shared>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let form = form(&body);
    let (client_id, secret) =
        client_credentials(&req, &form).ok_or_else(OAuthError::invalid_client)?;
    if client_id != shared.config.client_id {
        return Err(OAuthError::invalid_client());
    }
    if secret != shared.config.client_secret {
        return Err(OAuthError::new(401, "invalid_client", "Unauthorized"));
    }
    let lifetime = shared.config.access_token_lifetime;
    let now = shared.now();
    let grant: TokenGrant = match required(&form, "grant_type")? {
        "refresh_token" => {
            let refresh = required(&form, "refresh_token")?;
            shared.store().refresh(&client_id, refresh, lifetime, now)?
        }
        "authorization_code" => {
            let code = required(&form, "code")?;
            let redirect = form.get("redirect_uri").map(String::as_str);
            shared
                .store()
                .exchange_code(&client_id, code, redirect, lifetime, now)?
        }
        other => {
            return Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                &format!("Invalid grant_type: {other}"),
            ));
        }
    };
    let mut out = json!({
        "access_token": grant.access_token,
        "expires_in": grant.expires_in,
        "scope": grant.scope,
        "token_type": "Bearer",
    });
    if let (Some(refresh), Some(obj)) = (grant.refresh_token, out.as_object_mut()) {
        obj.insert("refresh_token".to_owned(), json!(refresh));
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            "Cache-Control",
            "no-cache, no-store, max-age=0, must-revalidate",
        ))
        .json(out))
}

/// `POST /revoke` with `token` in the query or the form. Revoking either token of a grant
/// revokes the grant.
pub async fn revoke(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let mut params = form(&body);
    params.extend(form(req.query_string().as_bytes()));
    let revoked = params
        .get("token")
        .is_some_and(|t| shared.store().revoke_any_token(t));
    if revoked {
        HttpResponse::Ok().json(json!({}))
    } else {
        HttpResponse::BadRequest().json(
            json!({"error": "invalid_token", "error_description": "Token expired or revoked"}),
        )
    }
}

fn error_page(status: u16, text: &str) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .content_type("text/plain; charset=utf-8")
    .body(text.to_owned())
}

/// `GET /o/oauth2/v2/auth`: consents at once and redirects back with `code` and `state` (or
/// with `error=access_denied` when consent is set to deny). Problems Google shows as an error
/// page rather than a redirect (bad client, bad `redirect_uri`) answer a plain-text page.
pub async fn authorize(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    let q = form(req.query_string().as_bytes());
    let get = |k: &str| q.get(k).map(String::as_str);
    if get("client_id") != Some(shared.config.client_id.as_str()) {
        return error_page(
            401,
            "Error 401: invalid_client\nThe OAuth client was not found.",
        );
    }
    let raw_redirect = get("redirect_uri").unwrap_or_default();
    let Ok(mut redirect) = url::Url::parse(raw_redirect) else {
        return error_page(
            400,
            "Error 400: invalid_request\nMissing or invalid redirect_uri.",
        );
    };
    let Some(scope) = get("scope").filter(|s| !s.is_empty()) else {
        return error_page(
            400,
            "Error 400: invalid_request\nMissing required parameter: scope",
        );
    };
    let consent = lock(&shared.consent).clone();
    let outcome: Result<String, &str> = if get("response_type") != Some("code") {
        Err("unsupported_response_type")
    } else if consent.deny {
        Err("access_denied")
    } else {
        let store = shared.store();
        let user = consent
            .user
            .or_else(|| {
                get("login_hint")
                    .filter(|h| store.user(h).is_some())
                    .map(str::to_owned)
            })
            .or_else(|| store.only_user());
        drop(store);
        match user {
            // The code is bound to the redirect URI exactly as the client sent it.
            Some(email) => Ok(shared.store().issue_code(
                &email,
                &shared.config.client_id,
                raw_redirect,
                scope,
                get("access_type") == Some("offline"),
                shared.now(),
            )),
            None => {
                return error_page(
                    400,
                    "Error 400: no test user to consent as (add one, or set the consenting user)",
                );
            }
        }
    };
    {
        let mut pairs = redirect.query_pairs_mut();
        match &outcome {
            Ok(code) => {
                pairs.append_pair("code", code).append_pair("scope", scope);
            }
            Err(error) => {
                pairs.append_pair("error", error);
            }
        }
        if let Some(state) = get("state") {
            pairs.append_pair("state", state);
        }
    }
    HttpResponse::Found()
        .insert_header(("Location", redirect.as_str()))
        .finish()
}
