//! Google refresh tokens are sealed at rest and open only with the right key.

use std::collections::BTreeMap;

use calsync::crypto::{CryptoError, EncryptionKey, TokenCipher};
use calsync::db::models::CredentialStatus;
use calsync::db::models::google_credential as creds;
use calsync::db::schema::google_credentials;
use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::helpers::builders::insert_user;
use crate::helpers::test_db::TestDb;

const REFRESH: &str = "1//0gRefreshTokenForTestsOnly-abcdefghijklmnopqrstuvwxyz";

fn cipher(version: i32, key: &EncryptionKey) -> TokenCipher {
    TokenCipher::new(version, key.clone(), BTreeMap::new())
}

#[test]
fn refresh_token_round_trips_and_is_not_readable_in_the_table() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let key = EncryptionKey::random();
    let c = cipher(1, &key);

    creds::store_refresh_token(
        &mut conn,
        &c,
        user,
        REFRESH,
        "https://www.googleapis.com/auth/calendar.events",
    )
    .unwrap();
    let row = creds::find(&mut conn, user).unwrap().unwrap();
    assert_eq!(row.refresh_token(&c).unwrap(), REFRESH);
    assert_eq!(row.key_version, 1);
    assert_eq!(row.status, CredentialStatus::Active);

    // What is stored, read back as raw bytes and as text, never contains the token.
    let (ct, as_text): (Vec<u8>, String) = google_credentials::table
        .find(user)
        .select((
            google_credentials::refresh_token_ciphertext,
            diesel::dsl::sql::<diesel::sql_types::Text>("google_credentials::text"),
        ))
        .first(&mut conn)
        .unwrap();
    assert!(!ct.windows(REFRESH.len()).any(|w| w == REFRESH.as_bytes()));
    assert!(!as_text.contains("RefreshTokenForTestsOnly"));
    assert!(
        !format!("{row:?}").contains("RefreshToken"),
        "Debug shows no token"
    );
}

#[test]
fn wrong_key_or_unknown_version_fails_to_open() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let c = cipher(1, &EncryptionKey::random());
    creds::store_refresh_token(&mut conn, &c, user, REFRESH, "").unwrap();
    let row = creds::find(&mut conn, user).unwrap().unwrap();

    let wrong = cipher(1, &EncryptionKey::random());
    assert!(matches!(row.refresh_token(&wrong), Err(CryptoError::Open)));
    let other_version = cipher(2, &EncryptionKey::random());
    assert!(matches!(
        row.refresh_token(&other_version),
        Err(CryptoError::UnknownKeyVersion(1))
    ));
}

#[test]
fn key_rotation_opens_old_rows_and_reseals_with_the_new_version() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let old_key = EncryptionKey::random();
    creds::store_refresh_token(&mut conn, &cipher(1, &old_key), user, REFRESH, "").unwrap();

    let rotated = TokenCipher::new(2, EncryptionKey::random(), BTreeMap::from([(1, old_key)]));
    let row = creds::find(&mut conn, user).unwrap().unwrap();
    let token = row.refresh_token(&rotated).unwrap();
    creds::store_refresh_token(&mut conn, &rotated, user, &token, "").unwrap();
    let row = creds::find(&mut conn, user).unwrap().unwrap();
    assert_eq!(row.key_version, 2);
    assert_eq!(row.refresh_token(&rotated).unwrap(), REFRESH);
}

#[test]
fn access_token_cache_expires_and_revocation_clears_it() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = insert_user(&mut conn);
    let c = cipher(1, &EncryptionKey::random());
    creds::store_refresh_token(&mut conn, &c, user, REFRESH, "").unwrap();
    let now = Utc::now();
    assert!(
        creds::cache_access_token(
            &mut conn,
            &c,
            user,
            "ya29.access",
            now + Duration::seconds(3600)
        )
        .unwrap()
    );

    let row = creds::find(&mut conn, user).unwrap().unwrap();
    let margin = Duration::seconds(60);
    assert_eq!(
        row.cached_access_token(&c, now, margin).unwrap().as_deref(),
        Some("ya29.access")
    );
    assert_eq!(
        row.cached_access_token(&c, now + Duration::seconds(3541), margin)
            .unwrap(),
        None
    );

    assert!(creds::mark_revoked(&mut conn, user).unwrap());
    let row = creds::find(&mut conn, user).unwrap().unwrap();
    assert_eq!(row.status, CredentialStatus::Revoked);
    assert!(row.revoked_at.is_some());
    assert_eq!(row.cached_access_token(&c, now, margin).unwrap(), None);

    // Reconnecting (a new refresh token) makes the grant active again.
    creds::store_refresh_token(&mut conn, &c, user, "1//new", "").unwrap();
    let row = creds::find(&mut conn, user).unwrap().unwrap();
    assert_eq!(row.status, CredentialStatus::Active);
    assert_eq!(row.revoked_at, None);
}
