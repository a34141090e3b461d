//! The authorization endpoint and its consent page: validation, the scope checkboxes, Allow
//! and Deny, the signed-in account, incremental authorization and skipped consent.

use gcal_emulator::EmulatorConfig;
use reqwest::Method;

use super::support::{
    APP_CREATED, CALENDARLIST_RO, CONNECTING, EVENTS, REDIRECT, USER, USERINFO_EMAIL, VERIFIER,
    auth_params, authorize, call_as, connect, consent_code, exchange, param, start, start_oauth,
    start_with, with,
};

const DEFAULT_SCOPES: &str = "openid email https://www.googleapis.com/auth/calendar.app.created";

#[tokio::test]
async fn consent_page_lists_each_scope_and_allow_redirects_with_code_scope_and_state() {
    let h = start_oauth().await;
    let scope = format!("openid email {APP_CREATED} {EVENTS}");
    let answer = authorize(&h, &auth_params(&scope)).await;
    let page = answer.page();
    assert_eq!(page.checkboxes, vec![APP_CREATED, EVENTS]);
    assert_eq!(page.sign_in, vec!["openid", USERINFO_EMAIL]);
    assert!(page.html.contains(&format!("Signed in as {CONNECTING}")));
    assert!(page.html.contains("value=\"allow\"") && page.html.contains("value=\"deny\""));
    assert!(
        page.html.contains("Make secondary Google calendars"),
        "each scope is described"
    );

    let done = page.submit(&h, "allow", None, None).await;
    assert_eq!(done.status, 302);
    assert!(done.location.as_deref().unwrap().starts_with(REDIRECT));
    let pairs = done.redirect_params();
    assert_eq!(param(&pairs, "state"), Some("st-42/x"));
    assert!(param(&pairs, "code").unwrap().starts_with("4/"));
    let granted: Vec<&str> = param(&pairs, "scope").unwrap().split(' ').collect();
    assert_eq!(granted.len(), 4, "{granted:?}");
    assert!(granted.contains(&EVENTS) && granted.contains(&USERINFO_EMAIL));
}

#[tokio::test]
async fn an_unticked_scope_is_not_granted_and_its_calls_answer_403() {
    let h = start_oauth().await;
    let scope = format!("openid email {APP_CREATED} {EVENTS}");
    let page = authorize(&h, &auth_params(&scope)).await.page();
    let done = page.submit(&h, "allow", Some(&[APP_CREATED]), None).await;
    let pairs = done.redirect_params();
    let code = param(&pairs, "code").unwrap();
    let (status, token) = exchange(&h, code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        token["scope"],
        format!("{APP_CREATED} {USERINFO_EMAIL} openid"),
        "only what was ticked (plus the sign-in scopes)"
    );
    let access = token["access_token"].as_str().unwrap();
    let events = call_as(&h, access, Method::GET, "/calendars/primary/events", None).await;
    assert_eq!(
        (events.status, events.reason()),
        (403, "insufficientPermissions")
    );
    let grants = h.emu.grants(CONNECTING).unwrap();
    let mine = grants
        .iter()
        .find(|g| g.client_id == "calsync-test-client.apps.googleusercontent.com")
        .unwrap();
    assert!(!mine.scopes.contains(&EVENTS.to_owned()));
}

#[tokio::test]
async fn deny_or_nothing_ticked_redirects_with_access_denied_and_state() {
    let h = start_oauth().await;
    let page = authorize(&h, &auth_params(DEFAULT_SCOPES)).await.page();
    let denied = page.submit(&h, "deny", None, None).await;
    assert_eq!(denied.status, 302);
    let pairs = denied.redirect_params();
    assert_eq!(param(&pairs, "error"), Some("access_denied"));
    assert_eq!(param(&pairs, "state"), Some("st-42/x"));
    assert_eq!(param(&pairs, "code"), None);

    // Only non-sign-in scopes asked, all unticked: nothing to grant.
    let page = authorize(&h, &auth_params(APP_CREATED)).await.page();
    let empty = page.submit(&h, "allow", Some(&[]), None).await;
    assert_eq!(
        param(&empty.redirect_params(), "error"),
        Some("access_denied")
    );

    // A consent form is answered once.
    let again = page.submit(&h, "allow", None, None).await;
    assert_eq!(again.status, 400);
    assert!(again.location.is_none());
}

#[tokio::test]
async fn bad_client_or_redirect_uri_gets_an_error_page_never_a_redirect() {
    let h = start_oauth().await;
    let cases = [
        (
            with(auth_params(DEFAULT_SCOPES), "client_id", Some("nope")),
            401,
            "invalid_client",
        ),
        (
            with(
                auth_params(DEFAULT_SCOPES),
                "redirect_uri",
                Some("http://localhost:3000/other"),
            ),
            400,
            "redirect_uri_mismatch",
        ),
        (
            with(
                auth_params(DEFAULT_SCOPES),
                "redirect_uri",
                Some(&format!("{REDIRECT}/")),
            ),
            400,
            "redirect_uri_mismatch",
        ),
        (
            with(auth_params(DEFAULT_SCOPES), "response_type", None),
            400,
            "invalid_request",
        ),
        (
            with(auth_params(DEFAULT_SCOPES), "response_type", Some("token")),
            400,
            "unsupported_response_type",
        ),
        (
            with(
                auth_params(DEFAULT_SCOPES),
                "code_challenge_method",
                Some("S512"),
            ),
            400,
            "invalid_request",
        ),
        (
            with(auth_params(DEFAULT_SCOPES), "code_challenge", Some("short")),
            400,
            "invalid_request",
        ),
        (
            with(auth_params("openid calendar"), "x", None),
            400,
            "invalid_scope",
        ),
        (
            with(auth_params(DEFAULT_SCOPES), "scope", None),
            400,
            "invalid_request",
        ),
        (
            with(auth_params(DEFAULT_SCOPES), "access_type", Some("forever")),
            400,
            "invalid_request",
        ),
    ];
    for (params, status, error) in cases {
        let answer = authorize(&h, &params).await;
        assert_eq!(answer.status, status, "{params:?}: {}", answer.html);
        assert!(answer.location.is_none(), "{params:?}");
        assert!(
            answer.html.contains(&format!("Error {status}: {error}")),
            "{params:?}: {}",
            answer.html
        );
    }
}

#[tokio::test]
async fn redirect_uris_are_registered_in_the_config_or_at_run_time() {
    let h = start().await;
    let answer = authorize(&h, &auth_params(DEFAULT_SCOPES)).await;
    assert_eq!(answer.status, 400, "nothing is registered by default");
    h.emu.register_redirect_uri(REDIRECT).unwrap();
    authorize(&h, &auth_params(DEFAULT_SCOPES)).await.page();
}

#[tokio::test]
async fn include_granted_scopes_adds_what_the_user_granted_before() {
    let h = start_oauth().await;
    connect(&h, DEFAULT_SCOPES).await;

    let incremental = connect(&h, CALENDARLIST_RO).await;
    let scope = incremental["scope"].as_str().unwrap();
    for s in [APP_CREATED, CALENDARLIST_RO, USERINFO_EMAIL, "openid"] {
        assert!(scope.split(' ').any(|x| x == s), "{s} in {scope}");
    }

    let params = with(auth_params(CALENDARLIST_RO), "include_granted_scopes", None);
    let code = consent_code(&h, &params).await;
    let (_, alone) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(alone["scope"], CALENDARLIST_RO);
}

#[tokio::test]
async fn consent_is_skipped_when_everything_asked_was_granted_unless_prompt_consent() {
    let h = start_oauth().await;
    connect(&h, DEFAULT_SCOPES).await;
    let again = with(auth_params(DEFAULT_SCOPES), "prompt", None);
    let answer = authorize(&h, &again).await;
    assert_eq!(answer.status, 302, "no page: {}", answer.html);
    let pairs = answer.redirect_params();
    assert!(param(&pairs, "code").is_some());
    assert_eq!(param(&pairs, "state"), Some("st-42/x"));

    // With prompt=consent the page is shown again.
    authorize(&h, &auth_params(DEFAULT_SCOPES)).await.page();
    // prompt=none cannot show a page: new scopes answer consent_required.
    let silent = with(auth_params(EVENTS), "prompt", Some("none"));
    let answer = authorize(&h, &silent).await;
    assert_eq!(
        param(&answer.redirect_params(), "error"),
        Some("consent_required")
    );
}

#[tokio::test]
async fn the_signed_in_account_comes_from_login_hint_the_control_api_or_a_choice() {
    let h = start_with(EmulatorConfig {
        redirect_uris: vec![REDIRECT.to_owned()],
        ..EmulatorConfig::default()
    })
    .await;
    h.emu.add_user("associate@example.com").unwrap();

    let chooser = authorize(&h, &auth_params(DEFAULT_SCOPES)).await.page();
    assert_eq!(chooser.accounts, vec!["associate@example.com", USER]);
    let done = chooser
        .submit(&h, "allow", None, Some("associate@example.com"))
        .await;
    let code = param(&done.redirect_params(), "code").unwrap().to_owned();
    let (_, token) = exchange(&h, &code, REDIRECT, Some(VERIFIER)).await;
    assert!(!token["id_token"].as_str().unwrap().is_empty());
    let granted = h.emu.grants("associate@example.com").unwrap();
    assert_eq!(granted.len(), 1);

    let hinted = with(auth_params(DEFAULT_SCOPES), "login_hint", Some(USER));
    let page = authorize(&h, &hinted).await.page();
    assert!(page.accounts.is_empty());
    assert!(
        page.hidden
            .contains(&("account".to_owned(), USER.to_owned()))
    );

    h.emu
        .set_signed_in_user(Some("associate@example.com"))
        .unwrap();
    let page = authorize(&h, &auth_params(DEFAULT_SCOPES)).await.page();
    assert!(
        page.hidden
            .contains(&("account".to_owned(), "associate@example.com".to_owned()))
    );
    assert!(h.emu.set_signed_in_user(Some("ghost@example.com")).is_err());
}
