//! A Google that never stops answering: an endless `nextPageToken`, a listing of too many
//! events, a body that never ends (from the Calendar API or the token endpoint). Each run
//! ends within its caps with an error naming the cap, and commits nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use calsync::account::{AccountError, GoogleAccounts};
use calsync::config::{GoogleConfig, SyncSettings};
use calsync::crypto::{EncryptionKey, TokenCipher};
use calsync::db::models::NewCalendarChannel;
use calsync::db::models::calendar_channel::{self as channels, generate_channel_id};
use calsync::db::models::google_credential;
use calsync::google::{GoogleError, GoogleLimits, Limit};
use calsync::inbound::{SyncContext, SyncError, sync_channel};

use crate::helpers::builders::insert_user;
use crate::helpers::test_db::TestDb;
use crate::helpers::test_redis::retry_policy;

const EVENT: &str = r#"{"id":"e1","status":"confirmed","summary":"x","start":{"date":"2027-01-01"},"end":{"date":"2027-01-02"}}"#;

/// A hostile Google on loopback: `/endless/...` pages forever, `/stream/...` and
/// `/stream-token` send a body that never ends, `/token` hands out an access token.
struct HostileGoogle {
    base: String,
    listings: Arc<AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

fn endless_body() -> HttpResponse {
    let chunk = web::Bytes::from(vec![b' '; 64 * 1024]);
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(futures::stream::repeat_with(move || {
            Ok::<_, actix_web::Error>(chunk.clone())
        }))
}

async fn start_hostile_google() -> HostileGoogle {
    let listings = Arc::new(AtomicUsize::new(0));
    let counter = listings.clone();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new()
            .route(
                "/token",
                web::post().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({
                        "access_token": "ya29.hostile", "expires_in": 3600
                    }))
                }),
            )
            .route("/stream-token", web::post().to(|| async { endless_body() }))
            .route(
                "/endless/calendar/v3/calendars/{cal}/events",
                web::get().to(move || {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(format!(
                                r#"{{"items":[{EVENT}],"nextPageToken":"page-{}"}}"#,
                                n + 1
                            ))
                    }
                }),
            )
            .route(
                "/stream/calendar/v3/calendars/{cal}/events",
                web::get().to(|| async { endless_body() }),
            )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    HostileGoogle {
        base: format!("http://{addr}"),
        listings,
        handle,
    }
}

/// A user with stored credentials and a channel with a sync token, syncing against
/// `api_base` / `token_url` with `limits`.
struct World {
    db: TestDb,
    channel_id: String,
    ctx: SyncContext,
}

fn world(api_base: &str, token_url: &str, limits: GoogleLimits) -> World {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let cipher = TokenCipher::new(1, EncryptionKey::random(), BTreeMap::new());
    google_credential::store_refresh_token(&mut conn, &cipher, user, "1//refresh", "").unwrap();
    let channel_id = generate_channel_id();
    channels::upsert(
        &mut conn,
        &NewCalendarChannel {
            user_id: user,
            calendar_id: "primary",
            channel_id: &channel_id,
            resource_id: "res-1",
            resource_uri: None,
            sync_token: Some("stored-token"),
            expiration_timestamp: 1_900_000_000_000,
        },
    )
    .unwrap();
    let mut config = GoogleConfig::for_endpoints(api_base, token_url, "c", "s");
    config.limits = limits;
    let ctx = SyncContext {
        db: db.db(),
        google: GoogleAccounts::new(&config, db.db(), cipher).unwrap(),
        settings: SyncSettings::default(),
        retry: retry_policy(),
    };
    World {
        db,
        channel_id,
        ctx,
    }
}

fn limit_of(err: &SyncError) -> Option<Limit> {
    match err {
        SyncError::Account(AccountError::Google(GoogleError::LimitExceeded(l))) => Some(*l),
        _ => None,
    }
}

/// The channel still holds the token it had: the failed run wrote nothing.
fn assert_nothing_committed(w: &World) {
    let mut conn = w.db.conn();
    let channel = channels::find_by_channel_id(&mut conn, &w.channel_id)
        .unwrap()
        .unwrap();
    assert_eq!(channel.sync_token.as_deref(), Some("stored-token"));
}

#[actix_web::test]
async fn an_endless_next_page_token_ends_the_run_at_the_page_cap() {
    let google = start_hostile_google().await;
    let limits = GoogleLimits {
        max_pages: 25,
        ..GoogleLimits::default()
    };
    let w = world(
        &format!("{}/endless/calendar/v3", google.base),
        &format!("{}/token", google.base),
        limits,
    );
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(30), sync_channel(&w.ctx, &w.channel_id))
        .await
        .expect("the run ends by itself")
        .unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::Pages(25)), "{err}");
    assert!(err.to_string().contains("SYNC_MAX_PAGES"), "{err}");
    assert_eq!(
        google.listings.load(Ordering::SeqCst),
        26,
        "one page past the cap, no more"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_nothing_committed(&w);
    google.handle.stop(false).await;
}

#[actix_web::test]
async fn a_listing_of_too_many_events_ends_at_the_event_cap() {
    let google = start_hostile_google().await;
    let limits = GoogleLimits {
        max_events: 10,
        ..GoogleLimits::default()
    };
    let w = world(
        &format!("{}/endless/calendar/v3", google.base),
        &format!("{}/token", google.base),
        limits,
    );
    let err = sync_channel(&w.ctx, &w.channel_id).await.unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::Events(10)), "{err}");
    assert!(err.to_string().contains("SYNC_MAX_EVENTS"), "{err}");
    assert_eq!(google.listings.load(Ordering::SeqCst), 11);
    assert_nothing_committed(&w);
    google.handle.stop(false).await;
}

#[actix_web::test]
async fn a_body_that_never_ends_is_cut_at_the_byte_cap() {
    let google = start_hostile_google().await;
    let limits = GoogleLimits {
        max_body_bytes: 1024 * 1024,
        ..GoogleLimits::default()
    };
    // From the Calendar API...
    let w = world(
        &format!("{}/stream/calendar/v3", google.base),
        &format!("{}/token", google.base),
        limits,
    );
    let err = tokio::time::timeout(Duration::from_secs(30), sync_channel(&w.ctx, &w.channel_id))
        .await
        .expect("reading stops at the cap")
        .unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::BodyBytes(1024 * 1024)), "{err}");
    assert!(err.to_string().contains("GOOGLE_MAX_BODY_BYTES"), "{err}");
    assert_nothing_committed(&w);

    // ... and from the token endpoint.
    let w = world(
        &format!("{}/endless/calendar/v3", google.base),
        &format!("{}/stream-token", google.base),
        limits,
    );
    let err = tokio::time::timeout(Duration::from_secs(30), sync_channel(&w.ctx, &w.channel_id))
        .await
        .expect("reading stops at the cap")
        .unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::BodyBytes(1024 * 1024)), "{err}");
    assert_eq!(
        google.listings.load(Ordering::SeqCst),
        0,
        "no token, no listing"
    );
    assert_nothing_committed(&w);
    google.handle.stop(false).await;
}
