//! The Google client against the emulator: tokens, refresh on 401, and every error decision.

use std::time::Duration;

use calsync::account::AccountError;
use calsync::db::models::google_credential;
use calsync::google::{Event, EventDateTime, GoogleError, ListQuery, WatchRequest};
use calsync::retry::Classify;
use gcal_emulator::{EventInput, FaultKind, FaultRule};

use crate::helpers::dates::day;
use crate::helpers::google::GoogleWorld;

fn google_err<T: std::fmt::Debug>(r: Result<T, AccountError>) -> GoogleError {
    match r {
        Err(AccountError::Google(e)) => e,
        other => panic!("expected a Google error, got {other:?}"),
    }
}

#[tokio::test]
async fn access_tokens_are_refreshed_cached_sealed_and_reused_across_sessions() {
    let w = GoogleWorld::start().await;
    let cal = w.calendar().to_owned();
    w.emu
        .user_create_event(&cal, &EventInput::all_day("Existing", day(1, 3), 1))
        .unwrap();

    let page = w
        .ctx
        .google
        .session(w.user_id)
        .list_events(&cal, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.next_sync_token.is_some());
    // A second session (another job) finds the cached token in the database.
    w.ctx
        .google
        .session(w.user_id)
        .list_events(&cal, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(w.count_requests("POST", "/token"), 1);

    let row = google_credential::find(&mut w.db.conn(), w.user_id)
        .unwrap()
        .unwrap();
    assert!(row.access_token_expires_at.is_some());
    let cached = row
        .cached_access_token(&w.cipher, chrono::Utc::now(), chrono::Duration::zero())
        .unwrap()
        .unwrap();
    let token_request = w
        .emu
        .requests()
        .into_iter()
        .find(|r| r.path.contains("/events"))
        .unwrap();
    assert_eq!(
        token_request.header("authorization"),
        Some(format!("Bearer {cached}").as_str())
    );
}

#[tokio::test]
async fn a_rejected_access_token_is_refreshed_once_and_the_call_retried() {
    let w = GoogleWorld::start().await;
    let mut session = w.ctx.google.session(w.user_id);
    session
        .list_events(w.calendar(), &ListQuery::default())
        .await
        .unwrap();
    w.emu.expire_access_tokens();

    session
        .list_events(w.calendar(), &ListQuery::default())
        .await
        .unwrap();
    let statuses: Vec<u16> = w
        .emu
        .requests()
        .iter()
        .filter(|r| r.path.contains("/events"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 401, 200]);
    assert_eq!(w.count_requests("POST", "/token"), 2);
}

#[tokio::test]
async fn a_revoked_grant_is_grant_revoked() {
    let w = GoogleWorld::start().await;
    w.emu.revoke_grant(&w.google_user.refresh_token).unwrap();
    let err = w
        .ctx
        .google
        .session(w.user_id)
        .list_events(w.calendar(), &ListQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(err, AccountError::GrantRevoked), "{err:?}");
    assert_eq!(
        err.classify(),
        calsync::retry::Failure::NeedsAction(calsync::retry::Parked::GrantRevoked)
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retryable_with_retry_after() {
    let w = GoogleWorld::start().await;
    let mut session = w.ctx.google.session(w.user_id);
    let list = ListQuery::default();
    w.emu.inject_fault(
        FaultRule::new(FaultKind::Status429, 1)
            .path_contains("/events")
            .retry_after(3),
    );
    assert_eq!(
        google_err(session.list_events(w.calendar(), &list).await),
        GoogleError::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
            scope: calsync::google::RateScope::Project,
        }
    );
    w.emu
        .inject_fault(FaultRule::new(FaultKind::RateLimit403, 1).path_contains("/events"));
    assert!(matches!(
        google_err(session.list_events(w.calendar(), &list).await),
        GoogleError::RateLimited { .. }
    ));
    for kind in [FaultKind::Status500, FaultKind::Status503] {
        w.emu
            .inject_fault(FaultRule::new(kind, 1).path_contains("/events"));
        let err = google_err(session.list_events(w.calendar(), &list).await);
        assert!(matches!(err, GoogleError::Transient(_)), "{err:?}");
    }
    session.list_events(w.calendar(), &list).await.unwrap();
}

#[tokio::test]
async fn invalidated_sync_tokens_are_sync_token_gone() {
    let w = GoogleWorld::start().await;
    let mut session = w.ctx.google.session(w.user_id);
    let first = session
        .list_events(w.calendar(), &ListQuery::default())
        .await
        .unwrap();
    w.emu.invalidate_sync_tokens(w.calendar()).unwrap();
    let query = ListQuery {
        sync_token: first.next_sync_token,
        ..ListQuery::default()
    };
    assert_eq!(
        google_err(session.list_events(w.calendar(), &query).await),
        GoogleError::SyncTokenGone
    );
}

#[tokio::test]
async fn write_errors_are_classified() {
    let w = GoogleWorld::start().await;
    let mut session = w.ctx.google.session(w.user_id);
    let cal = w.calendar().to_owned();
    let event = Event {
        id: Some("cal0test0001".into()),
        summary: Some("RFE response due".into()),
        start: Some(EventDateTime::all_day(day(1, 5))),
        end: Some(EventDateTime::all_day(day(1, 6))),
        ..Event::default()
    };
    let created = session.insert_event(&cal, &event).await.unwrap();
    let etag = created.etag.clone().unwrap();
    assert_eq!(
        google_err(session.insert_event(&cal, &event).await),
        GoogleError::Duplicate
    );

    let moved = Event {
        start: Some(EventDateTime::all_day(day(1, 7))),
        end: Some(EventDateTime::all_day(day(1, 8))),
        ..Event::default()
    };
    let patched = session
        .patch_event(&cal, "cal0test0001", &moved, Some(&etag))
        .await
        .unwrap();
    assert_eq!(patched.start, moved.start);
    assert_eq!(
        google_err(
            session
                .patch_event(&cal, "cal0test0001", &moved, Some(&etag))
                .await
        ),
        GoogleError::PreconditionFailed
    );
    session
        .delete_event(&cal, "cal0test0001", None)
        .await
        .unwrap();
    assert_eq!(
        google_err(session.delete_event(&cal, "cal0test0001", None).await),
        GoogleError::AlreadyDeleted
    );
    assert_eq!(
        google_err(session.get_event(&cal, "nosuchevent01").await),
        GoogleError::NotFound
    );
    assert_eq!(
        google_err(
            session
                .list_events("nobody@example.com", &ListQuery::default())
                .await
        ),
        GoogleError::NotFound
    );
}

#[tokio::test]
async fn watch_returns_the_channel_with_its_expiration_and_stop_forgets_it() {
    let w = GoogleWorld::start().await;
    let mut session = w.ctx.google.session(w.user_id);
    let request = WatchRequest {
        id: "9b2e7c1a-channel".into(),
        kind: "web_hook",
        address: "http://127.0.0.1:9/api/webhooks/google-calendar".into(),
        token: "t".into(),
        params: None,
    };
    let channel = session.watch(w.calendar(), &request).await.unwrap();
    assert_eq!(channel.id, "9b2e7c1a-channel");
    let week_ms = 7 * 86_400_000;
    let now_ms = chrono::Utc::now().timestamp_millis();
    assert!(
        (channel.expiration - now_ms - week_ms).abs() < 60_000,
        "{}",
        channel.expiration
    );
    session
        .stop_channel(&channel.id, &channel.resource_id)
        .await
        .unwrap();
    assert_eq!(
        google_err(
            session
                .stop_channel(&channel.id, &channel.resource_id)
                .await
        ),
        GoogleError::NotFound
    );
}
