//! Rotating `TOKEN_ENCRYPTION_KEY`: rows sealed under the old key are re-sealed when they are
//! opened (so their access token is cached again) and by `calsync credentials reseal`; then
//! the old key can go and every user still syncs. A row's refresh and access ciphertexts
//! cannot be swapped.

use std::collections::BTreeMap;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use calsync::account::{AccountError, GoogleAccounts};
use calsync::channels::{WatchTarget, watch_calendar};
use calsync::config::GoogleConfig;
use calsync::crypto::{CryptoError, EncryptionKey, TokenCipher};
use calsync::db::models::google_credential;
use calsync::db::schema::google_credentials::dsl;
use calsync::google::ListQuery;
use calsync::ids::UserId;
use calsync::inbound::{SyncContext, SyncOutcome};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use gcal_emulator::EmulatorConfig;
use uuid::Uuid;

use crate::helpers::builders::insert_user;
use crate::helpers::google::GoogleWorld;
use crate::helpers::test_redis::retry_policy;

/// A row's two tokens as stored: refresh ciphertext and nonce, access ciphertext and nonce.
type SealedColumns = (Vec<u8>, Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

fn accounts(w: &GoogleWorld, cipher: TokenCipher) -> GoogleAccounts {
    let emulator = EmulatorConfig::default();
    let config = GoogleConfig::for_endpoints(
        &w.emu.urls().api_base,
        &w.emu.urls().token_url,
        &emulator.client_id,
        &emulator.client_secret,
    );
    GoogleAccounts::new(&config, w.db.db(), cipher).unwrap()
}

fn b64(key: &EncryptionKey) -> String {
    STANDARD.encode(key.as_bytes())
}

fn key_version(w: &GoogleWorld, user: UserId) -> i32 {
    google_credential::find(&mut w.db.conn(), user)
        .unwrap()
        .unwrap()
        .key_version
}

#[tokio::test]
async fn rotate_reseal_remove_the_old_key_and_sync() {
    let w = GoogleWorld::start().await;
    let old_key = w.key.clone();
    let user_a = w.user_id;
    let calendar_a = w.calendar().to_owned();

    // User B's row is as a release before the field binding sealed it (owner-only
    // associated data), under the old key, and B does not sync during the rotation.
    let mut conn = w.db.conn();
    let user_b = insert_user(&mut conn);
    let google_b = w
        .emu
        .add_user(&format!("b-{}@example.com", Uuid::new_v4().simple()))
        .unwrap();
    google_credential::store_refresh_token(&mut conn, &w.cipher, user_b, "x", "").unwrap();
    let legacy = w
        .cipher
        .seal_owner_only(user_b.0.as_bytes(), &google_b.refresh_token)
        .unwrap();
    diesel::update(dsl::google_credentials.find(user_b))
        .set((
            dsl::refresh_token_ciphertext.eq(&legacy.ciphertext),
            dsl::refresh_token_nonce.eq(&legacy.nonce),
        ))
        .execute(&mut conn)
        .unwrap();

    // The rotation: a new current key (version 2), the old one kept as previous.
    let new_key = EncryptionKey::random();
    let rotated = TokenCipher::new(2, new_key.clone(), BTreeMap::from([(1, old_key.clone())]));
    let google = accounts(&w, rotated.clone());

    // A syncs: its row is re-sealed under version 2 as it is opened, and the access token is
    // cached again, so the next job does not ask the token endpoint.
    for _ in 0..3 {
        google
            .session(user_a)
            .list_events(&calendar_a, &ListQuery::default())
            .await
            .unwrap();
    }
    assert_eq!(key_version(&w, user_a), 2);
    assert_eq!(
        w.count_requests("POST", "/token"),
        1,
        "one token request for three jobs: the access token is cached after the re-seal"
    );
    assert_eq!(key_version(&w, user_b), 1, "B has not been opened yet");

    // Removing the old key now would break B: the fault the reseal command prevents.
    let without_old = TokenCipher::new(2, new_key.clone(), BTreeMap::new());
    let err = accounts(&w, without_old.clone())
        .session(user_b)
        .list_events(&google_b.calendar_id, &ListQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, AccountError::Crypto(CryptoError::UnknownKeyVersion(1))),
        "{err:?}"
    );

    // The operator re-seals the rest.
    let out = Command::new(env!("CARGO_BIN_EXE_calsync"))
        .args(["credentials", "reseal"])
        .env("DATABASE_URL", w.db.url())
        .env("TOKEN_ENCRYPTION_KEY", b64(&new_key))
        .env("TOKEN_ENCRYPTION_KEY_VERSION", "2")
        .env(
            "TOKEN_ENCRYPTION_PREVIOUS_KEYS",
            format!("1:{}", b64(&old_key)),
        )
        .env("RUST_LOG", "info")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("re-sealed 1 credentials"), "{stdout}");
    assert!(stdout.contains("1 already current"), "{stdout}");
    assert!(!stdout.contains(&google_b.refresh_token));
    let row_b = google_credential::find(&mut conn, user_b).unwrap().unwrap();
    assert_eq!(row_b.key_version, 2);
    assert!(
        !row_b
            .open(&without_old, Utc::now(), Duration::zero())
            .unwrap()
            .stale
    );

    // The old key goes; both users still sync (B through a watch and its full sync).
    let google = accounts(&w, without_old);
    google
        .session(user_a)
        .list_events(&calendar_a, &ListQuery::default())
        .await
        .unwrap();
    let ctx = SyncContext {
        db: w.db.db(),
        google,
        settings: w.ctx.settings.clone(),
        retry: retry_policy(),
    };
    let target = WatchTarget {
        address: "http://127.0.0.1:9/api/webhooks/google-calendar".into(),
        ttl: None,
    };
    let (_, outcome) = watch_calendar(&ctx, user_b, &google_b.calendar_id, &target, |id| {
        format!("t-{id}")
    })
    .await
    .unwrap();
    assert!(matches!(outcome, SyncOutcome::Synced(_)), "{outcome:?}");
}

#[tokio::test]
async fn refresh_and_access_ciphertexts_of_a_row_cannot_be_swapped() {
    let w = GoogleWorld::start().await;
    // A session caches an access token next to the refresh token.
    w.ctx
        .google
        .session(w.user_id)
        .list_events(w.calendar(), &ListQuery::default())
        .await
        .unwrap();
    let mut conn = w.db.conn();
    let (refresh, refresh_nonce, access, access_nonce): SealedColumns = dsl::google_credentials
        .find(w.user_id)
        .select((
            dsl::refresh_token_ciphertext,
            dsl::refresh_token_nonce,
            dsl::access_token_ciphertext,
            dsl::access_token_nonce,
        ))
        .first(&mut conn)
        .unwrap();
    // Someone with write access to the table swaps them (to have the access token sent to
    // Google as a refresh token, or the refresh token as a bearer token).
    diesel::update(dsl::google_credentials.find(w.user_id))
        .set((
            dsl::refresh_token_ciphertext.eq(access.unwrap()),
            dsl::refresh_token_nonce.eq(access_nonce.unwrap()),
            dsl::access_token_ciphertext.eq(Some(refresh)),
            dsl::access_token_nonce.eq(Some(refresh_nonce)),
        ))
        .execute(&mut conn)
        .unwrap();
    let row = google_credential::find(&mut conn, w.user_id)
        .unwrap()
        .unwrap();
    assert!(matches!(
        row.refresh_token(&w.cipher),
        Err(CryptoError::Open)
    ));
    assert!(matches!(
        row.cached_access_token(&w.cipher, Utc::now(), Duration::zero()),
        Err(CryptoError::Open)
    ));
    let tokens_before = w.count_requests("POST", "/token");
    let err = w
        .ctx
        .google
        .session(w.user_id)
        .list_events(w.calendar(), &ListQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, AccountError::Crypto(CryptoError::Open)),
        "{err:?}"
    );
    assert_eq!(
        w.count_requests("POST", "/token"),
        tokens_before,
        "nothing was sent to Google"
    );
}
