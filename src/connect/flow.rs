//! The OAuth connect flow, safe against the known attacks:
//!
//! 1. `begin`: the tracker (with the user's JWT) asks for a one-time link of calsync's own.
//! 2. `open_link`: the browser opening it gets a cookie binding it to the flow, and a redirect
//!    to Google's consent page with a random single-use `state` and a PKCE (S256) challenge.
//!    The link works once and for ten minutes.
//! 3. `callback`: Google sends the browser back. The state must be known, unused, unexpired
//!    and this browser's (the cookie), or nothing happens at all. Then the code is exchanged
//!    with the verifier, the granted scopes are checked, the Google account is read and
//!    checked against the other users', and only then is anything stored. The calendar is
//!    made before the browser returns; the watch and the first sync follow in the background.

use chrono::Duration;
use diesel::Connection;
use secrecy::ExposeSecret;
use url::Url;

use super::secrets::{hash, pkce_challenge, random_token};
use super::{ConnectError, ConnectService, calendar};
use crate::account::AccountError;
use crate::db::DbError;
use crate::db::models::{calendar_connection, connect_flow, google_credential};
use crate::ids::UserId;

/// How long a flow (link, then state) stays usable.
pub const FLOW_LIFETIME: Duration = Duration::minutes(10);

/// The cookie binding a browser to its flow.
pub const BROWSER_COOKIE: &str = "calsync_oauth_flow";

/// Where the callback sends the browser, or why it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// A plain error page; nothing was stored. The text is safe to show.
    Refused(&'static str),
    /// Back to the tracker (`OAUTH_RETURN_URL` with the outcome in its query).
    Return(String),
    /// To Google again (a refresh token was missing), bound to the browser by a new cookie.
    Again(Redirect),
}

/// A redirect to Google's consent page and the browser cookie that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub location: String,
    pub browser_cookie: String,
}

/// Step 1: a one-time link for `user_id`.
pub async fn begin(svc: &ConnectService, user_id: UserId) -> Result<String, ConnectError> {
    let link = random_token();
    let link_hash = hash(&link);
    svc.sync
        .db
        .run(move |conn| {
            connect_flow::delete_stale(conn)?;
            connect_flow::create(conn, user_id, &link_hash, FLOW_LIFETIME, 0)?;
            Ok::<_, DbError>(())
        })
        .await?;
    Ok(format!(
        "{}/oauth/google/start?link={link}",
        svc.config.public_base_url
    ))
}

/// Step 2: the link opened. `None` when it is unknown, used or expired.
pub async fn open_link(svc: &ConnectService, link: &str) -> Result<Option<Redirect>, ConnectError> {
    open(svc, hash(link)).await
}

async fn open(svc: &ConnectService, link_hash: Vec<u8>) -> Result<Option<Redirect>, ConnectError> {
    let (state, browser, verifier) = (random_token(), random_token(), random_token());
    let (state_hash, browser_hash, v) = (hash(&state), hash(&browser), verifier.clone());
    let opened = svc
        .sync
        .db
        .run(move |conn| {
            Ok::<_, DbError>(connect_flow::open_link(
                conn,
                &link_hash,
                &state_hash,
                &browser_hash,
                &v,
            )?)
        })
        .await?;
    if opened.is_none() {
        return Ok(None);
    }
    Ok(Some(Redirect {
        location: authorization_url(svc, &state, &verifier),
        browser_cookie: browser,
    }))
}

/// Google's consent page for this flow.
fn authorization_url(svc: &ConnectService, state: &str, verifier: &str) -> String {
    let mut url = match Url::parse(&svc.auth_url) {
        Ok(u) => u,
        // Checked at startup; an unparsable URL still yields a visible failure.
        Err(_) => return svc.auth_url.clone(),
    };
    url.query_pairs_mut()
        .append_pair("client_id", svc.oauth.client_id())
        .append_pair("redirect_uri", &svc.config.redirect_url)
        .append_pair("response_type", "code")
        .append_pair("scope", &svc.config.scopes.join(" "))
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent")
        .append_pair("include_granted_scopes", "true")
        .append_pair("state", state)
        .append_pair("code_challenge", &pkce_challenge(verifier))
        .append_pair("code_challenge_method", "S256");
    url.into()
}

/// The callback's query.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
}

/// Step 3. `browser` is the flow cookie the request carried.
pub async fn callback(
    svc: &ConnectService,
    params: &CallbackParams,
    browser: Option<&str>,
) -> Result<CallbackOutcome, ConnectError> {
    let Some(state) = params.state.as_deref() else {
        return Ok(CallbackOutcome::Refused("The sign-in link is incomplete."));
    };
    let state_hash = hash(state);
    let flow = svc
        .sync
        .db
        .run(move |conn| Ok::<_, DbError>(connect_flow::find_by_state(conn, &state_hash)?))
        .await?;
    let Some(flow) = flow else {
        return Ok(CallbackOutcome::Refused(
            "This sign-in is not known to calsync.",
        ));
    };
    if flow.consumed_at.is_some() {
        return Ok(CallbackOutcome::Refused("This sign-in was already used."));
    }
    if flow.expires_at <= chrono::Utc::now() {
        return Ok(CallbackOutcome::Refused(
            "This sign-in expired. Start again from the tracker.",
        ));
    }
    let same_browser = match (browser, &flow.browser_hash) {
        (Some(cookie), Some(expected)) => hash(cookie) == *expected,
        _ => false,
    };
    if !same_browser {
        return Ok(CallbackOutcome::Refused(
            "This sign-in was started in another browser. Start again from the tracker.",
        ));
    }
    let (id, verifier) = (flow.id, flow.pkce_verifier.clone().unwrap_or_default());
    let consumed = svc
        .sync
        .db
        .run(move |conn| Ok::<_, DbError>(connect_flow::consume(conn, id)?))
        .await?;
    if !consumed {
        return Ok(CallbackOutcome::Refused("This sign-in was already used."));
    }
    let user_id = flow.user_id;
    if let Some(error) = params.error.as_deref() {
        let code = if error == "access_denied" {
            "access_denied"
        } else {
            "authorization_failed"
        };
        return Ok(back(svc, &[("error", code)]));
    }
    let Some(code) = params.code.as_deref() else {
        return Ok(back(svc, &[("error", "authorization_failed")]));
    };
    let grant = match svc
        .oauth
        .exchange_code(code, &verifier, &svc.config.redirect_url)
        .await
    {
        Ok(g) => g,
        Err(e) => {
            log::warn!("user {user_id}: the authorization code exchange failed: {e}");
            return Ok(back(svc, &[("error", "authorization_failed")]));
        }
    };
    if !svc
        .config
        .mode
        .required_scopes()
        .iter()
        .all(|s| grant.has_scope(s))
    {
        return Ok(back(svc, &[("error", "missing_scope")]));
    }
    let who = match svc
        .oauth
        .userinfo(&svc.config.userinfo_url, grant.access_token.expose_secret())
        .await
    {
        Ok(w) => w,
        Err(e) => {
            log::warn!("user {user_id}: reading the Google account failed: {e}");
            return Ok(back(svc, &[("error", "authorization_failed")]));
        }
    };
    let sub = who.sub.clone();
    let (linked, current) = svc
        .sync
        .db
        .run(move |conn| {
            Ok::<_, DbError>((
                calendar_connection::user_for_sub(conn, &sub)?,
                calendar_connection::find(conn, user_id)?,
            ))
        })
        .await?;
    if linked.is_some_and(|other| other != user_id) {
        return Ok(back(svc, &[("error", "account_already_linked")]));
    }
    let Some(refresh_token) = grant.refresh_token else {
        if flow.consent_retries > 0 {
            return Ok(back(svc, &[("error", "consent_required")]));
        }
        return Ok(match again(svc, user_id).await? {
            Some(redirect) => CallbackOutcome::Again(redirect),
            None => back(svc, &[("error", "consent_required")]),
        });
    };
    if current.as_ref().is_some_and(|c| c.google_sub != who.sub) {
        // Another Google account: the old one's side ends as a disconnect that keeps its
        // calendar (renamed), with its grant revoked; the new account gets a calendar of its
        // own below.
        super::manage::disconnect(svc, user_id, super::manage::CalendarOnDisconnect::Keep).await?;
    }
    let (cipher, email, sub, mode, scope) = (
        svc.cipher.clone(),
        who.email.unwrap_or_default(),
        who.sub,
        svc.config.mode.as_str(),
        grant.scope.clone(),
    );
    let stored = svc
        .sync
        .db
        .run(move |conn| {
            conn.transaction::<_, AccountError, _>(|conn| {
                google_credential::store_refresh_token(
                    conn,
                    &cipher,
                    user_id,
                    refresh_token.expose_secret(),
                    &scope,
                )?;
                calendar_connection::upsert_account(conn, user_id, &sub, &email, mode)?;
                Ok(())
            })
        })
        .await;
    match stored {
        Ok(()) => {}
        // A concurrent flow linked the same Google account to another user (unique sub).
        Err(e) if is_unique_violation(&e) => {
            log::warn!("user {user_id}: the Google account was linked meanwhile: {e}");
            return Ok(back(svc, &[("error", "account_already_linked")]));
        }
        // Anything else (PostgreSQL away, a key missing) is not the user's doing.
        Err(e) => return Err(e.into()),
    }
    match calendar::prepare(svc, user_id).await {
        Ok(calendar_id) => {
            calendar::watch_in_background(svc, user_id, calendar_id);
            Ok(back(svc, &[("google_calendar", "connected")]))
        }
        Err(e) => {
            log::warn!("user {user_id}: setting up the calendar failed: {e}");
            calendar::record_error(svc, user_id, "The calendar could not be set up at Google.")
                .await;
            Ok(back(svc, &[("error", "calendar_setup_failed")]))
        }
    }
}

/// A second consent for the same user and browser (the first gave no refresh token).
async fn again(svc: &ConnectService, user_id: UserId) -> Result<Option<Redirect>, ConnectError> {
    let link_hash = hash(&random_token());
    let h = link_hash.clone();
    svc.sync
        .db
        .run(move |conn| {
            Ok::<_, DbError>(connect_flow::create(conn, user_id, &h, FLOW_LIFETIME, 1)?)
        })
        .await?;
    open(svc, link_hash).await
}

/// `OAUTH_RETURN_URL` with `query` added.
fn back(svc: &ConnectService, query: &[(&str, &str)]) -> CallbackOutcome {
    let url = match Url::parse(&svc.config.return_url) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(query);
            url.into()
        }
        Err(_) => svc.config.return_url.clone(),
    };
    CallbackOutcome::Return(url)
}

/// Whether storing failed on a unique constraint: the only refusal that means "this Google
/// account is another user's".
fn is_unique_violation(e: &AccountError) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        e,
        AccountError::Db(DbError::Query(Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            _
        )))
    )
}
