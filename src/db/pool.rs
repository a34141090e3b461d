use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::{Connection, ConnectionError};
use secrecy::ExposeSecret;

use crate::config::DatabaseConfig;
use crate::retry::{Classify, Failure};

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

/// Why a database operation did not complete. Callers decide on these: a pool timeout or an
/// unreachable server is worth retrying later; a query error usually is not.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// No pooled connection became free (or could be opened) within the checkout bound.
    #[error("no database connection available within {0:?}")]
    PoolTimeout(Duration),
    /// The query itself failed.
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    /// The blocking task was cancelled because the runtime is shutting down.
    #[error("database task cancelled")]
    Cancelled,
}

impl Classify for DbError {
    /// Pool exhaustion, lost connections and the like are transient; constraint violations
    /// say the work itself is wrong.
    fn classify(&self) -> Failure {
        use diesel::result::{DatabaseErrorKind as K, Error as Q};
        match self {
            Self::Query(Q::DatabaseError(
                K::UniqueViolation
                | K::ForeignKeyViolation
                | K::CheckViolation
                | K::NotNullViolation,
                _,
            )) => Failure::Permanent,
            _ => Failure::Transient,
        }
    }
}

/// A cloneable handle to the pool. `run` is the only way async code reaches diesel.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    checkout_timeout: Duration,
}

impl Db {
    /// Builds the pool without opening connections eagerly, so a process can start (and
    /// report itself not ready) while PostgreSQL is down.
    pub fn new(config: &DatabaseConfig) -> Self {
        let manager = ConnectionManager::<PgConnection>::new(config.url.expose_secret());
        let pool = Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .connection_timeout(config.checkout_timeout)
            .test_on_check_out(false)
            .error_handler(Box::new(RedactingErrorHandler(config.clone())))
            .build_unchecked(manager);
        Self {
            pool,
            checkout_timeout: config.checkout_timeout,
        }
    }

    /// Checks out a connection (waiting at most the checkout bound) and runs `f` on tokio's
    /// blocking pool. A panic inside `f` is re-raised in the caller.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = db.checkout()?;
            f(&mut conn)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(DbError::Cancelled.into()),
        }
    }

    /// A connection for synchronous callers (CLI commands), with the same bounded wait.
    pub fn checkout(&self) -> Result<PooledConnection<ConnectionManager<PgConnection>>, DbError> {
        self.pool
            .get_timeout(self.checkout_timeout)
            .map_err(|_| DbError::PoolTimeout(self.checkout_timeout))
    }
}

/// One unpooled connection, for one-shot commands such as `migrate`. The error's text never
/// holds the URL's password (libpq quotes the parts of a URL it rejects).
pub fn connect(config: &DatabaseConfig) -> Result<PgConnection, ConnectionError> {
    PgConnection::establish(config.url.expose_secret()).map_err(|e| match e {
        ConnectionError::InvalidCString(n) => ConnectionError::InvalidCString(n),
        ConnectionError::BadConnection(m) => ConnectionError::BadConnection(config.redact(&m)),
        ConnectionError::InvalidConnectionUrl(m) => {
            ConnectionError::InvalidConnectionUrl(config.redact(&m))
        }
        other => ConnectionError::BadConnection(config.redact(&other.to_string())),
    })
}

/// Logs the pool's failed connection attempts (r2d2's default handler logs libpq's message
/// as it is) with the URL's secrets taken out.
#[derive(Debug)]
struct RedactingErrorHandler(DatabaseConfig);

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for RedactingErrorHandler {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        log::error!(
            "opening a PostgreSQL connection failed: {}",
            self.0.redact(&error.to_string())
        );
    }
}
