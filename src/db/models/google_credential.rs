//! Users' Google credentials (`google_credentials`): the refresh token, sealed at rest, and a
//! cached access token, sealed too. Plaintext tokens exist only in memory.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::text_enum::text_enum_sql;
use crate::crypto::{CryptoError, Sealed, TokenCipher};
use crate::db::schema::google_credentials::{self, dsl};
use crate::ids::UserId;

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

impl GoogleCredential {
    /// The plaintext refresh token.
    pub fn refresh_token(&self, cipher: &TokenCipher) -> Result<String, CryptoError> {
        let sealed = Sealed {
            ciphertext: self.refresh_token_ciphertext.clone(),
            nonce: self.refresh_token_nonce.clone(),
            key_version: self.key_version,
        };
        cipher.open(self.user_id.0.as_bytes(), &sealed)
    }

    /// The cached access token if it stays valid for at least `margin` after `now`.
    pub fn cached_access_token(
        &self,
        cipher: &TokenCipher,
        now: DateTime<Utc>,
        margin: Duration,
    ) -> Result<Option<String>, CryptoError> {
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
        cipher.open(self.user_id.0.as_bytes(), &sealed).map(Some)
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
    let sealed = cipher.seal(user_id.0.as_bytes(), refresh_token)?;
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
    let sealed = cipher.seal(user_id.0.as_bytes(), access_token)?;
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
