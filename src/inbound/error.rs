//! Why an inbound run failed.

use crate::account::AccountError;
use crate::db::DbError;
use crate::google::GoogleError;
use crate::retry::{Classify, Failure, Parked};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error("another worker is syncing this channel")]
    Busy,
    #[error("the sync lease ran out before the commit; nothing was written")]
    LeaseLost,
    #[error("the calendar no longer exists at Google; the channel is stopped")]
    CalendarGone,
    #[error(transparent)]
    Account(AccountError),
}

impl From<AccountError> for SyncError {
    /// A 404 on a listing means the calendar itself is gone.
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Google(GoogleError::NotFound) => Self::CalendarGone,
            other => Self::Account(other),
        }
    }
}

impl From<DbError> for SyncError {
    fn from(e: DbError) -> Self {
        Self::Account(AccountError::Db(e))
    }
}

impl From<diesel::result::Error> for SyncError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Account(e.into())
    }
}

impl Classify for SyncError {
    fn classify(&self) -> Failure {
        match self {
            Self::Busy => Failure::Busy,
            Self::LeaseLost => Failure::Transient,
            Self::CalendarGone => Failure::NeedsAction(Parked::CalendarGone),
            Self::Account(a) => a.classify(),
        }
    }
}
