//! Why acting for a user at Google failed: the one error both sync directions and channel
//! management build on, so the grant, credential, database and key cases are spelt once.

use crate::crypto::CryptoError;
use crate::db::DbError;
use crate::db::models::google_credential::CredentialError;
use crate::google::GoogleError;
use crate::ids::UserId;
use crate::retry::{Classify, Failure, Parked};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The refresh token was revoked or expired (`invalid_grant`): the user must reconnect.
    #[error("the user's Google grant is revoked or expired; they must reconnect")]
    GrantRevoked,
    /// The user never connected Google (no credentials row).
    #[error("user {0} has no Google credentials")]
    NoCredentials(UserId),
    /// Google's answer to a call, classified (never `GrantRevoked`: that is lifted above).
    #[error(transparent)]
    Google(GoogleError),
    /// Reading or caching credentials, or the work around the call, failed in PostgreSQL.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The sealed token could not be opened (a key version this process does not hold).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl From<GoogleError> for AccountError {
    fn from(e: GoogleError) -> Self {
        match e {
            GoogleError::GrantRevoked => Self::GrantRevoked,
            other => Self::Google(other),
        }
    }
}

impl From<CredentialError> for AccountError {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::Crypto(c) => Self::Crypto(c),
            CredentialError::Query(q) => Self::Db(DbError::Query(q)),
        }
    }
}

impl From<diesel::result::Error> for AccountError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

impl Classify for AccountError {
    fn classify(&self) -> Failure {
        match self {
            Self::GrantRevoked => Failure::NeedsAction(Parked::GrantRevoked),
            Self::NoCredentials(_) => Failure::NeedsAction(Parked::NoCredentials),
            Self::Google(g) => g.classify(),
            Self::Db(d) => d.classify(),
            // A key this process lacks is an operator's configuration slip: the work waits
            // (with backoff) until the key is there again, and nothing is lost.
            Self::Crypto(_) => Failure::Transient,
        }
    }
}
