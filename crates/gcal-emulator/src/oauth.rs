//! Google's OAuth 2.0 and OpenID Connect endpoints, as far as a web-server app uses them:
//!
//! - the authorization endpoint, which validates the request and serves an HTML consent page
//!   (one checkbox per non-sign-in scope, Allow and Deny), then redirects back with `code` or
//!   `error=access_denied`, and `state`;
//! - the token endpoint (`authorization_code` with PKCE, and `refresh_token`; form-encoded,
//!   client credentials in the body or HTTP Basic), with an RS256 id_token when `openid` was
//!   granted;
//! - the revocation endpoint, the userinfo endpoint, the JWKS and the discovery document.

use std::collections::{BTreeSet, HashMap};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::auth::bearer;
use super::errors::OAuthError;
use super::idtoken::at_hash;
use super::scopes::{self, OPENID, USERINFO_EMAIL, USERINFO_PROFILE};
use super::server::CONSENT_PATH;
use super::state::Shared;
use super::store::{Challenge, ConsentRequest, TokenGrant};

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

/// The id_token for a grant that includes `openid`.
fn id_token(shared: &Shared, grant: &TokenGrant) -> Result<Option<String>, OAuthError> {
    if !grant.scopes.contains(OPENID) {
        return Ok(None);
    }
    let sub = shared
        .store()
        .user(&grant.email)
        .map(|u| u.sub.clone())
        .unwrap_or_default();
    let iat = shared.now().timestamp();
    let mut claims = json!({
        "iss": shared.config.id_token_issuer,
        "azp": grant.client_id,
        "aud": grant.client_id,
        "sub": sub,
        "at_hash": at_hash(&grant.access_token),
        "iat": iat,
        "exp": iat + 3600,
    });
    if let Some(obj) = claims.as_object_mut() {
        if grant.scopes.contains(USERINFO_EMAIL) {
            obj.insert("email".to_owned(), json!(grant.email));
            obj.insert("email_verified".to_owned(), json!(true));
        }
        if grant.scopes.contains(USERINFO_PROFILE) {
            let name = display_name(&grant.email);
            obj.insert("name".to_owned(), json!(name));
            obj.insert("given_name".to_owned(), json!(name));
        }
        if let Some(nonce) = &grant.nonce {
            obj.insert("nonce".to_owned(), json!(nonce));
        }
    }
    shared
        .signer
        .sign(&claims)
        .map(Some)
        .map_err(|e| OAuthError::new(500, "internal_failure", &e))
}

/// The profile name the emulator reports: the email's local part.
fn display_name(email: &str) -> String {
    email.split('@').next().unwrap_or(email).to_owned()
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
    shared.store().check_client(&client_id, &secret)?;
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
            let verifier = form.get("code_verifier").map(String::as_str);
            shared
                .store()
                .exchange_code(&client_id, code, redirect, verifier, lifetime, now)?
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
        "scope": scopes::join(&grant.scopes),
        "token_type": "Bearer",
    });
    let id_token = id_token(&shared, &grant)?;
    if let Some(obj) = out.as_object_mut() {
        if let Some(refresh) = &grant.refresh_token {
            obj.insert("refresh_token".to_owned(), json!(refresh));
        }
        if let Some(jwt) = id_token {
            obj.insert("id_token".to_owned(), json!(jwt));
        }
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            "Cache-Control",
            "no-cache, no-store, max-age=0, must-revalidate",
        ))
        .json(out))
}

/// `POST /revoke` with `token` in the query or the form. Revoking either token of a grant
/// removes the app's access to the account.
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

/// `GET /v1/userinfo` (and `/oauth2/v3/userinfo`): the OpenID Connect claims of the token's
/// account, as far as its scopes allow.
pub async fn userinfo(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    let unauthorized = || {
        HttpResponse::Unauthorized()
            .insert_header((
                "WWW-Authenticate",
                "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
            ))
            .json(json!({"error": "invalid_request", "error_description": "Invalid Credentials"}))
    };
    let Some(token) = bearer(&req) else {
        return unauthorized();
    };
    let store = shared.store();
    let Some((email, token)) = store.authenticate(token, shared.now()) else {
        return unauthorized();
    };
    let scopes = &token.scopes;
    if !scopes.iter().any(|s| scopes::is_sign_in(s)) {
        return HttpResponse::Forbidden()
            .insert_header((
                "WWW-Authenticate",
                "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", scope=\"openid email profile\"",
            ))
            .json(json!({"error": "insufficient_scope", "error_description": "Insufficient Permission"}));
    }
    let sub = store
        .user(&email)
        .map(|u| u.sub.clone())
        .unwrap_or_default();
    let mut out = json!({ "sub": sub });
    if let Some(obj) = out.as_object_mut() {
        if scopes.contains(USERINFO_EMAIL) {
            obj.insert("email".to_owned(), json!(email));
            obj.insert("email_verified".to_owned(), json!(true));
        }
        if scopes.contains(USERINFO_PROFILE) {
            let name = display_name(&email);
            obj.insert("name".to_owned(), json!(name));
            obj.insert("given_name".to_owned(), json!(name));
        }
    }
    HttpResponse::Ok().json(out)
}

/// `GET /oauth2/v3/certs`: the id_token signing key.
pub async fn jwks(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.signer.jwks())
}

/// `GET /.well-known/openid-configuration`.
pub async fn discovery(shared: web::Data<Shared>) -> HttpResponse {
    let u = &shared.urls;
    HttpResponse::Ok().json(json!({
        "issuer": shared.config.id_token_issuer,
        "authorization_endpoint": u.auth_url,
        "token_endpoint": u.token_url,
        "userinfo_endpoint": u.userinfo_url,
        "revocation_endpoint": u.revoke_url,
        "jwks_uri": u.jwks_url,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "name", "given_name", "sub"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Google's error page (no redirect): "Error 400: redirect_uri_mismatch" and the like.
fn error_page(status: u16, error: &str, detail: &str) -> HttpResponse {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Error {status}: {error}</title></head>\n<body>\n<h1>Access blocked: Authorization Error</h1>\n<p id=\"error\">Error {status}: {error}</p>\n<p id=\"detail\">{}</p>\n</body>\n</html>\n",
        html_escape(detail)
    );
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .content_type("text/html; charset=utf-8")
    .body(body)
}

fn invalid_request(detail: &str) -> HttpResponse {
    error_page(400, "invalid_request", detail)
}

/// A 302 to the client's redirect URI with these parameters (and `state`).
fn redirect_back(redirect_uri: &str, params: &[(&str, &str)], state: Option<&str>) -> HttpResponse {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return invalid_request("Invalid redirect_uri.");
    };
    {
        let mut pairs = url.query_pairs_mut();
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
    }
    HttpResponse::Found()
        .insert_header(("Location", url.as_str()))
        .finish()
}

/// The PKCE challenge of an authorization request; `Err` is the error page's detail.
fn code_challenge(q: &HashMap<String, String>) -> Result<Option<Challenge>, String> {
    let challenge = q.get("code_challenge").filter(|c| !c.is_empty());
    let method = q.get("code_challenge_method").map(String::as_str);
    let Some(challenge) = challenge else {
        return match method {
            None => Ok(None),
            Some(_) => Err("Missing required parameter: code_challenge".to_owned()),
        };
    };
    let well_formed = (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return Err("Invalid parameter value for code_challenge.".to_owned());
    }
    match method {
        Some("S256") => Ok(Some(Challenge::S256(challenge.clone()))),
        None | Some("plain") => Ok(Some(Challenge::Plain(challenge.clone()))),
        Some(other) => Err(format!(
            "Invalid code_challenge_method: '{other}' is not a valid CodeChallengeMethod"
        )),
    }
}

/// The account the consent page signs in as: a `login_hint` naming a known account, else
/// the signed-in account set through the control API, else the only account. `None` when the
/// page must offer a choice.
fn pick_account(shared: &Shared, login_hint: Option<&str>) -> Option<String> {
    let store = shared.store();
    login_hint
        .filter(|h| store.user(h).is_some())
        .map(str::to_owned)
        .or_else(|| store.signed_in_user().map(str::to_owned))
        .or_else(|| {
            let all = store.emails();
            (all.len() == 1).then(|| all[0].clone())
        })
}

/// Grants the scopes and redirects back with a code.
fn approve(
    shared: &Shared,
    email: &str,
    request: ConsentRequest,
    mut granted: BTreeSet<String>,
) -> HttpResponse {
    let mut store = shared.store();
    if request.include_granted_scopes {
        granted.extend(store.granted_scopes(email, &request.client_id));
    }
    if granted.is_empty() {
        return redirect_back(
            &request.redirect_uri,
            &[("error", "access_denied")],
            request.state.as_deref(),
        );
    }
    let scope = scopes::join(&granted);
    let (redirect_uri, state) = (request.redirect_uri.clone(), request.state.clone());
    let code = store.issue_code(
        email,
        request,
        granted,
        shared.config.auth_code_lifetime,
        shared.now(),
    );
    drop(store);
    redirect_back(
        &redirect_uri,
        &[("code", &code), ("scope", &scope)],
        state.as_deref(),
    )
}

/// `GET /o/oauth2/v2/auth`: validates the request, then serves the consent page. Problems
/// Google shows as an error page rather than a redirect (unknown client, unregistered
/// `redirect_uri`, malformed parameters) answer an HTML error page.
pub async fn authorize(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    let q = form(req.query_string().as_bytes());
    let get = |k: &str| q.get(k).map(String::as_str);
    let Some(client_id) = get("client_id") else {
        return invalid_request("Missing required parameter: client_id");
    };
    let registered = match shared.store().client(client_id) {
        Some(c) => c.redirect_uris.clone(),
        None => return error_page(401, "invalid_client", "The OAuth client was not found."),
    };
    let Some(redirect_uri) = get("redirect_uri") else {
        return invalid_request("Missing required parameter: redirect_uri");
    };
    if !registered.iter().any(|r| r == redirect_uri) {
        return error_page(
            400,
            "redirect_uri_mismatch",
            &format!(
                "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. If you're the app developer, register the redirect URI in the Google Cloud Console. redirect_uri: {redirect_uri}"
            ),
        );
    }
    match get("response_type") {
        None => return invalid_request("Required parameter is missing: response_type"),
        Some("code") => {}
        Some(other) => {
            return error_page(
                400,
                "unsupported_response_type",
                &format!("Unsupported response_type: {other}"),
            );
        }
    }
    let raw_scope = get("scope").unwrap_or("");
    if raw_scope.trim().is_empty() {
        return invalid_request("Missing required parameter: scope");
    }
    let requested = match scopes::parse(raw_scope) {
        Ok(list) => list,
        Err(invalid) => {
            return error_page(
                400,
                "invalid_scope",
                &format!(
                    "Some requested scopes were invalid. {{invalid=[{}]}}",
                    invalid.join(", ")
                ),
            );
        }
    };
    let offline = match get("access_type") {
        None | Some("online") => false,
        Some("offline") => true,
        Some(other) => return invalid_request(&format!("Invalid access_type: {other}")),
    };
    let prompts: Vec<&str> = get("prompt").unwrap_or("").split_whitespace().collect();
    if let Some(bad) = prompts
        .iter()
        .find(|p| !matches!(**p, "none" | "consent" | "select_account"))
    {
        return invalid_request(&format!("Invalid prompt: {bad}"));
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return invalid_request("prompt=none cannot be combined with other prompt values");
    }
    let challenge = match code_challenge(&q) {
        Ok(c) => c,
        Err(detail) => return invalid_request(&detail),
    };
    let request = ConsentRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        requested,
        state: get("state").map(str::to_owned),
        challenge,
        offline,
        prompt_consent: prompts.contains(&"consent"),
        include_granted_scopes: get("include_granted_scopes") == Some("true"),
        nonce: get("nonce").map(str::to_owned),
    };
    let account = pick_account(&shared, get("login_hint"));
    if shared.store().emails().is_empty() {
        return invalid_request("No Google account exists in the emulator to sign in with.");
    }
    // Google skips the consent screen when the account already granted everything asked
    // for, unless the app forces it with `prompt=consent` (or asks to choose the account).
    let already = account
        .as_deref()
        .map(|a| shared.store().granted_scopes(a, client_id))
        .unwrap_or_default();
    let all_granted = request.requested.iter().all(|s| already.contains(s));
    let skip_consent = !request.prompt_consent && !prompts.contains(&"select_account");
    if let Some(email) = account.as_deref().filter(|_| all_granted && skip_consent) {
        let granted = request.requested.iter().cloned().collect();
        return approve(&shared, email, request, granted);
    }
    if prompt_none {
        let error = if account.is_none() {
            "interaction_required"
        } else {
            "consent_required"
        };
        return redirect_back(redirect_uri, &[("error", error)], request.state.as_deref());
    }
    let previously = if request.include_granted_scopes {
        already
    } else {
        BTreeSet::new()
    };
    let id = shared.store().park_consent(request.clone());
    let page = consent_page(&shared, &id, &request, account.as_deref(), &previously);
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page)
}

/// The consent page. Every `<input>`, `<option>` and `<button>` sits on a line of its own
/// with its attributes in a fixed order, so test clients can read the form without an HTML
/// parser.
fn consent_page(
    shared: &Shared,
    request_id: &str,
    request: &ConsentRequest,
    account: Option<&str>,
    previously: &BTreeSet<String>,
) -> String {
    let client = html_escape(&request.client_id);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Sign in - Google Accounts</title></head>\n<body>\n");
    h.push_str(&format!(
        "<h1>{client} wants access to your Google Account</h1>\n"
    ));
    h.push_str(&format!(
        "<form method=\"post\" action=\"{CONSENT_PATH}\">\n"
    ));
    h.push_str(&format!(
        "<input type=\"hidden\" name=\"request\" value=\"{request_id}\">\n"
    ));
    match account {
        Some(email) => {
            let e = html_escape(email);
            h.push_str(&format!("<p id=\"account\">Signed in as {e}</p>\n"));
            h.push_str(&format!(
                "<input type=\"hidden\" name=\"account\" value=\"{e}\">\n"
            ));
        }
        None => {
            h.push_str("<label for=\"account\">Choose an account</label>\n");
            h.push_str("<select id=\"account\" name=\"account\">\n");
            for (i, email) in shared.store().emails().iter().enumerate() {
                let e = html_escape(email);
                let selected = if i == 0 { " selected" } else { "" };
                h.push_str(&format!("<option value=\"{e}\"{selected}>{e}</option>\n"));
            }
            h.push_str("</select>\n");
        }
    }
    h.push_str(&format!("<p>{client} will be able to:</p>\n<ul>\n"));
    for scope in &request.requested {
        let s = html_escape(scope);
        let text = html_escape(scopes::describe(scope));
        if scopes::is_sign_in(scope) {
            h.push_str(&format!(
                "<li class=\"sign-in\" data-scope=\"{s}\">{text} (shared when you sign in)</li>\n"
            ));
        } else {
            h.push_str(&format!(
                "<li><label>\n<input type=\"checkbox\" name=\"scope\" value=\"{s}\" checked>\n{text}</label></li>\n"
            ));
        }
    }
    h.push_str("</ul>\n");
    if !previously.is_empty() {
        h.push_str("<p>You already granted:</p>\n<ul>\n");
        for scope in previously {
            h.push_str(&format!(
                "<li class=\"granted\" data-scope=\"{}\">{}</li>\n",
                html_escape(scope),
                html_escape(scopes::describe(scope))
            ));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("<button type=\"submit\" name=\"action\" value=\"deny\">\nDeny</button>\n");
    h.push_str("<button type=\"submit\" name=\"action\" value=\"allow\">\nAllow</button>\n");
    h.push_str("</form>\n</body>\n</html>\n");
    h
}

/// `POST /o/oauth2/v2/auth/consent`: the consent form's answer. Fields: `request` (hidden),
/// `account`, one `scope` per ticked checkbox, and the pressed button's `action` (`allow` or
/// `deny`).
pub async fn consent(shared: web::Data<Shared>, body: web::Bytes) -> HttpResponse {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(id) = first("request") else {
        return invalid_request("Missing required parameter: request");
    };
    let action = first("action");
    if !matches!(action, Some("allow" | "deny")) {
        return invalid_request("The consent form must be answered with Allow or Deny.");
    }
    let Some(request) = shared.store().take_consent(id) else {
        return invalid_request("This consent request is unknown or was already answered.");
    };
    if action == Some("deny") {
        return redirect_back(
            &request.redirect_uri,
            &[("error", "access_denied")],
            request.state.as_deref(),
        );
    }
    let Some(email) = first("account").filter(|a| shared.store().user(a).is_some()) else {
        return invalid_request("Unknown account.");
    };
    let ticked: BTreeSet<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    let granted: BTreeSet<String> = request
        .requested
        .iter()
        .filter(|s| scopes::is_sign_in(s) || ticked.contains(s.as_str()))
        .cloned()
        .collect();
    let email = email.to_owned();
    approve(&shared, &email, request, granted)
}
