//! What a token's scopes let it do: `calendar.app.created` reaches only calendars its own
//! client created; `calendar.events` + `calendar.calendarlist.readonly` keep an existing
//! calendar; everything else answers 403 `insufficientPermissions`.

use reqwest::Method;
use serde_json::{Value, json};

use super::support::{
    APP_CREATED, CALENDARLIST_RO, CONNECTING, EVENTS, Harness, REDIRECT, Receiver, Reply, VERIFIER,
    auth_params, authorize, call_as, connect, connect_only, enc, param, start_oauth, timed,
    watch_body, with,
};

fn assert_scope_403(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {:?}", reply.body);
    assert_eq!(reply.reason(), "insufficientPermissions", "{what}");
    assert_eq!(
        reply.body["error"]["message"], "Request had insufficient authentication scopes.",
        "{what}"
    );
}

/// A token of another app (another OAuth client) of the same account, with full access.
async fn other_app_token(h: &Harness) -> String {
    let other = "other-app.apps.googleusercontent.com";
    h.emu.add_client(other, "other-secret", &[REDIRECT]);
    let params = with(
        auth_params("https://www.googleapis.com/auth/calendar"),
        "client_id",
        Some(other),
    );
    let done = authorize(h, &params)
        .await
        .page()
        .submit(h, "allow", None, None)
        .await;
    let code = param(&done.redirect_params(), "code").unwrap().to_owned();
    let token: Value = h
        .http
        .post(&h.emu.urls().token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", other),
            ("client_secret", "other-secret"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn app_created_reaches_only_the_calendars_its_client_created() {
    let h = start_oauth().await;
    let receiver = Receiver::start().await;
    let token = connect(&h, &format!("openid email {APP_CREATED}")).await;
    let t = token["access_token"].as_str().unwrap();

    let created = call_as(
        &h,
        t,
        Method::POST,
        "/calendars",
        Some(json!({"summary": "PERM Deadlines"})),
    )
    .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let own = format!("/calendars/{}", enc(created.body["id"].as_str().unwrap()));
    let ok = [
        (Method::GET, own.clone(), None),
        (
            Method::PATCH,
            own.clone(),
            Some(json!({"summary": "PERM Deadlines (renamed)"})),
        ),
        (
            Method::POST,
            format!("{own}/events"),
            Some(timed("ETA-9089 filing", 9)),
        ),
        (Method::GET, format!("{own}/events"), None),
        (
            Method::POST,
            format!("{own}/events/watch"),
            Some(watch_body("ch-own", &receiver.url)),
        ),
        (
            Method::GET,
            format!(
                "/users/me/calendarList/{}",
                enc(created.body["id"].as_str().unwrap())
            ),
            None,
        ),
    ];
    for (method, path, body) in ok {
        let reply = call_as(&h, t, method.clone(), &path, body).await;
        assert_eq!(reply.status, 200, "{method} {path}: {:?}", reply.body);
    }

    let primary = call_as(&h, t, Method::GET, "/calendars/primary/events", None).await;
    assert_scope_403(&primary, "primary events");
    assert_eq!(primary.body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(
        primary.body["error"]["details"][0]["reason"],
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    );
    assert_eq!(
        primary.body["error"]["errors"][0]["message"],
        "Insufficient Permission"
    );
    assert!(
        primary
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"insufficient_scope\"")
    );
    assert_scope_403(
        &call_as(&h, t, Method::GET, "/calendars/primary", None).await,
        "primary calendar",
    );
    assert_scope_403(
        &call_as(&h, t, Method::GET, "/users/me/calendarList", None).await,
        "calendarList.list",
    );

    let personal = h.emu.user_create_calendar(CONNECTING, "Personal").unwrap();
    let personal = format!("/calendars/{}", enc(&personal));
    assert_scope_403(
        &call_as(&h, t, Method::GET, &format!("{personal}/events"), None).await,
        "a calendar the user made",
    );
    assert_scope_403(
        &call_as(&h, t, Method::DELETE, &personal, None).await,
        "deleting a calendar the user made",
    );

    let other = other_app_token(&h).await;
    let theirs = call_as(
        &h,
        &other,
        Method::POST,
        "/calendars",
        Some(json!({"summary": "Theirs"})),
    )
    .await;
    let theirs = format!("/calendars/{}", enc(theirs.body["id"].as_str().unwrap()));
    assert_scope_403(
        &call_as(
            &h,
            t,
            Method::POST,
            &format!("{theirs}/events"),
            Some(timed("x", 9)),
        )
        .await,
        "a calendar another app created",
    );
    // The other app's full-scope token reaches calsync's calendar, as `calendar` does.
    assert_eq!(
        call_as(&h, &other, Method::GET, &own, None).await.status,
        200
    );

    assert_eq!(call_as(&h, t, Method::DELETE, &own, None).await.status, 204);
}

#[tokio::test]
async fn events_and_calendarlist_scopes_keep_an_existing_calendar_but_cannot_create_one() {
    let h = start_oauth().await;
    h.emu
        .set_primary_time_zone(CONNECTING, "America/Chicago")
        .unwrap();
    let token = connect_only(&h, &format!("{EVENTS} {CALENDARLIST_RO}")).await;
    let t = token["access_token"].as_str().unwrap();
    let inserted = call_as(
        &h,
        t,
        Method::POST,
        "/calendars/primary/events",
        Some(timed("RFE due", 10)),
    )
    .await;
    assert_eq!(inserted.status, 200);
    let entry = call_as(&h, t, Method::GET, "/users/me/calendarList/primary", None).await;
    assert_eq!(entry.status, 200);
    assert_eq!(entry.body["timeZone"], "America/Chicago");
    let list = call_as(&h, t, Method::GET, "/users/me/calendarList", None).await;
    assert_eq!(list.body["items"][0]["id"], CONNECTING);

    assert_scope_403(
        &call_as(
            &h,
            t,
            Method::POST,
            "/calendars",
            Some(json!({"summary": "PERM Deadlines"})),
        )
        .await,
        "calendars.insert",
    );
    assert_scope_403(
        &call_as(&h, t, Method::GET, "/calendars/primary", None).await,
        "calendars.get",
    );

    let list_only = connect_only(&h, CALENDARLIST_RO).await;
    let reply = call_as(
        &h,
        list_only["access_token"].as_str().unwrap(),
        Method::GET,
        "/calendars/primary/events",
        None,
    )
    .await;
    assert_scope_403(&reply, "events with calendarlist.readonly only");
}
