//! Users' Google credentials (`google_credentials`): the refresh token, sealed at rest, and a
//! cached access token, sealed too. Plaintext tokens exist only in memory.
//!
//! Both tokens of a row are sealed with the row's `key_version` and bound to the user and to
//! their own column. A row opened with an older key (or sealed before the column binding) is
//! stale: [`reseal`] writes it again under the current key.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use secrecy::{ExposeSecret, SecretString};

use super::text_enum::text_enum_sql;
use crate::crypto::{Binding, CryptoError, Opened, Sealed, TokenCipher};
use crate::db::schema::google_credentials::{self, dsl};
use crate::ids::UserId;

/// The field names sealed values are bound to.
const REFRESH_FIELD: &str = "google_credentials.refresh_token";
const ACCESS_FIELD: &str = "google_credentials.access_token";

fn binding<'a>(user_id: &'a UserId, field: &'static str) -> Binding<'a> {
    Binding {
        owner: user_id.0.as_bytes(),
        field,
    }
}

/// Whether the grant can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum CredentialStatus {
    Active,
    /// Google answered `invalid_grant`: the user must connect again.
    Revoked,
}

impl CredentialStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
        }
    }
}

impl FromStr for CredentialStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "active" => Ok(Self::Active),
            "revoked" => Ok(Self::Revoked),
            _ => Err(()),
        }
    }
}

text_enum_sql!(CredentialStatus);

/// A credentials row as read. Its `Debug` shows no token material.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = google_credentials, check_for_backend(diesel::pg::Pg))]
pub struct GoogleCredential {
    pub user_id: UserId,
    refresh_token_ciphertext: Vec<u8>,
    refresh_token_nonce: Vec<u8>,
    pub key_version: i32,
    /// Space-separated, as Google returns them.
    pub scopes: String,
    pub status: CredentialStatus,
    access_token_ciphertext: Option<Vec<u8>>,
    access_token_nonce: Option<Vec<u8>>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for GoogleCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleCredential")
            .field("user_id", &self.user_id)
            .field("key_version", &self.key_version)
            .field("scopes", &self.scopes)
            .field("status", &self.status)
            .field("access_token_expires_at", &self.access_token_expires_at)
            .finish_non_exhaustive()
    }
}

/// A row's tokens, opened. `Debug` hides them.
pub struct OpenedCredential {
    pub refresh_token: SecretString,
    /// The cached access token, when it stays valid past the margin asked for.
    pub access_token: Option<SecretString>,
    /// Sealed under an older key or without the column binding: [`reseal`] it.
    pub stale: bool,
}

impl std::fmt::Debug for OpenedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedCredential")
            .field("access_token", &self.access_token.as_ref().map(|_| ".."))
            .field("stale", &self.stale)
            .finish_non_exhaustive()
    }
}

impl GoogleCredential {
    fn open_refresh(&self, cipher: &TokenCipher) -> Result<Opened, CryptoError> {
        let sealed = Sealed {
            ciphertext: self.refresh_token_ciphertext.clone(),
            nonce: self.refresh_token_nonce.clone(),
            key_version: self.key_version,
        };
        cipher.open(binding(&self.user_id, REFRESH_FIELD), &sealed)
    }

    /// The cached access token, opened, if it stays valid for at least `margin` after `now`.
    fn open_access(
        &self,
        cipher: &TokenCipher,
        now: DateTime<Utc>,
        margin: Duration,
    ) -> Result<Option<Opened>, CryptoError> {
        let (Some(ct), Some(nonce), Some(expires)) = (
            &self.access_token_ciphertext,
            &self.access_token_nonce,
            self.access_token_expires_at,
        ) else {
            return Ok(None);
        };
        if expires - margin <= now {
            return Ok(None);
        }
        let sealed = Sealed {
            ciphertext: ct.clone(),
            nonce: nonce.clone(),
            key_version: self.key_version,
        };
        cipher
            .open(binding(&self.user_id, ACCESS_FIELD), &sealed)
            .map(Some)
    }

    /// The plaintext refresh token.
    pub fn refresh_token(&self, cipher: &TokenCipher) -> Result<String, CryptoError> {
        self.open_refresh(cipher).map(Opened::into_secret)
    }

    /// The cached access token if it stays valid for at least `margin` after `now`.
    pub fn cached_access_token(
        &self,
        cipher: &TokenCipher,
        now: DateTime<Utc>,
        margin: Duration,
    ) -> Result<Option<String>, CryptoError> {
        Ok(self
            .open_access(cipher, now, margin)?
            .map(Opened::into_secret))
    }

    /// Both tokens (the access token only while it stays valid for `margin` after `now`),
    /// and whether the row should be re-sealed.
    pub fn open(
        &self,
        cipher: &TokenCipher,
        now: DateTime<Utc>,
        margin: Duration,
    ) -> Result<OpenedCredential, CryptoError> {
        let refresh = self.open_refresh(cipher)?;
        // An access token that no longer opens (a tampered row) is only a cache miss.
        let access = self.open_access(cipher, now, margin).unwrap_or(None);
        let stale = refresh.is_stale() || access.as_ref().is_some_and(Opened::is_stale);
        Ok(OpenedCredential {
            refresh_token: refresh.into_secret().into(),
            access_token: access.map(|a| a.into_secret().into()),
            stale,
        })
    }
}

/// Errors of the credential functions that seal or open tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Stores (or replaces) a user's refresh token, sealed with the current key. The grant becomes
/// active again and any cached access token is dropped (it belonged to the old grant).
pub fn store_refresh_token(
    conn: &mut PgConnection,
    cipher: &TokenCipher,
    user_id: UserId,
    refresh_token: &str,
    scopes: &str,
) -> Result<(), CredentialError> {
    let sealed = cipher.seal(binding(&user_id, REFRESH_FIELD), refresh_token)?;
    let values = (
        dsl::user_id.eq(user_id),
        dsl::refresh_token_ciphertext.eq(&sealed.ciphertext),
        dsl::refresh_token_nonce.eq(&sealed.nonce),
        dsl::key_version.eq(sealed.key_version),
        dsl::scopes.eq(scopes),
        dsl::status.eq(CredentialStatus::Active),
    );
    diesel::insert_into(dsl::google_credentials)
        .values(values)
        .on_conflict(dsl::user_id)
        .do_update()
        .set((
            values.1,
            values.2,
            values.3,
            values.4,
            values.5,
            dsl::access_token_ciphertext.eq(None::<Vec<u8>>),
            dsl::access_token_nonce.eq(None::<Vec<u8>>),
            dsl::access_token_expires_at.eq(None::<DateTime<Utc>>),
            dsl::revoked_at.eq(None::<DateTime<Utc>>),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The credentials of `user_id`, if any.
pub fn find(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Option<GoogleCredential>> {
    dsl::google_credentials
        .find(user_id)
        .select(GoogleCredential::as_select())
        .first(conn)
        .optional()
}

/// Caches an access token, sealed with the row's key version so one version opens both
/// tokens of a row. Returns whether the row exists.
pub fn cache_access_token(
    conn: &mut PgConnection,
    cipher: &TokenCipher,
    user_id: UserId,
    access_token: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, CredentialError> {
    let sealed = cipher.seal(binding(&user_id, ACCESS_FIELD), access_token)?;
    let n = diesel::update(
        dsl::google_credentials
            .find(user_id)
            .filter(dsl::key_version.eq(sealed.key_version)),
    )
    .set((
        dsl::access_token_ciphertext.eq(Some(sealed.ciphertext)),
        dsl::access_token_nonce.eq(Some(sealed.nonce)),
        dsl::access_token_expires_at.eq(Some(expires_at)),
        dsl::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Marks the grant revoked and forgets the cached access token. Returns whether the row exists.
pub fn mark_revoked(conn: &mut PgConnection, user_id: UserId) -> QueryResult<bool> {
    diesel::update(dsl::google_credentials.find(user_id))
        .set((
            dsl::status.eq(CredentialStatus::Revoked),
            dsl::revoked_at.eq(diesel::dsl::now),
            dsl::access_token_ciphertext.eq(None::<Vec<u8>>),
            dsl::access_token_nonce.eq(None::<Vec<u8>>),
            dsl::access_token_expires_at.eq(None::<DateTime<Utc>>),
            dsl::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Writes `row`'s tokens again, sealed with the current key and binding: the refresh token,
/// and the cached access token while it is still valid (otherwise the cache is dropped).
/// Only if the row is still as read (same key version and refresh ciphertext), so a token
/// stored meanwhile is never overwritten. Returns whether the row was written.
pub fn reseal(
    conn: &mut PgConnection,
    cipher: &TokenCipher,
    row: &GoogleCredential,
    opened: &OpenedCredential,
) -> Result<bool, CredentialError> {
    let user_id = row.user_id;
    let refresh = cipher.seal(
        binding(&user_id, REFRESH_FIELD),
        opened.refresh_token.expose_secret(),
    )?;
    let access = match (&opened.access_token, row.access_token_expires_at) {
        (Some(token), Some(expires_at)) => Some((
            cipher.seal(binding(&user_id, ACCESS_FIELD), token.expose_secret())?,
            expires_at,
        )),
        _ => None,
    };
    let n = diesel::update(
        dsl::google_credentials
            .find(user_id)
            .filter(dsl::key_version.eq(row.key_version))
            .filter(dsl::refresh_token_ciphertext.eq(&row.refresh_token_ciphertext)),
    )
    .set((
        dsl::refresh_token_ciphertext.eq(&refresh.ciphertext),
        dsl::refresh_token_nonce.eq(&refresh.nonce),
        dsl::key_version.eq(refresh.key_version),
        dsl::access_token_ciphertext.eq(access.as_ref().map(|(a, _)| a.ciphertext.clone())),
        dsl::access_token_nonce.eq(access.as_ref().map(|(a, _)| a.nonce.clone())),
        dsl::access_token_expires_at.eq(access.as_ref().map(|(_, at)| *at)),
        dsl::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Up to `limit` credential rows with user ids after `after`, in user id order (for a pass
/// over every row).
pub fn list_after(
    conn: &mut PgConnection,
    after: Option<UserId>,
    limit: i64,
) -> QueryResult<Vec<GoogleCredential>> {
    let mut query = dsl::google_credentials
        .select(GoogleCredential::as_select())
        .order(dsl::user_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(dsl::user_id.gt(after));
    }
    query.load(conn)
}

/// Deletes a user's credentials (they disconnected). Returns whether there were any.
pub fn delete(conn: &mut PgConnection, user_id: UserId) -> QueryResult<bool> {
    diesel::delete(dsl::google_credentials.find(user_id))
        .execute(conn)
        .map(|n| n == 1)
}
