//! The Db helper: bounded wait for a connection, work on the blocking pool.

use std::time::{Duration, Instant};

use calsync::config::DatabaseConfig;
use calsync::db::{Db, DbError};
use diesel::prelude::*;
use diesel::sql_types::Integer;

use crate::helpers::test_db::TestDb;

#[tokio::test]
async fn run_executes_on_the_blocking_pool() {
    let db = TestDb::new();
    let n: i32 = db
        .db()
        .run(|conn| {
            Ok::<_, DbError>(
                diesel::select(diesel::dsl::sql::<Integer>("41 + 1")).get_result(conn)?,
            )
        })
        .await
        .unwrap();
    assert_eq!(n, 42);
}

#[tokio::test]
async fn checkout_waits_at_most_the_configured_bound() {
    let test_db = TestDb::new();
    let mut config = DatabaseConfig::for_url(test_db.url());
    config.pool_size = 1;
    config.checkout_timeout = Duration::from_millis(300);
    let db = Db::new(&config);
    let held = db.checkout().unwrap();

    let started = Instant::now();
    let err = db.run(|_conn| Ok::<_, DbError>(())).await.unwrap_err();
    assert!(matches!(err, DbError::PoolTimeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(held);
    db.run(|_conn| Ok::<_, DbError>(())).await.unwrap();
}

#[tokio::test]
async fn unreachable_database_is_a_timeout_not_a_hang() {
    let mut config = DatabaseConfig::for_url("postgres://postgres@127.0.0.1:1/none");
    config.checkout_timeout = Duration::from_millis(300);
    let err = Db::new(&config)
        .run(|_conn| Ok::<_, DbError>(()))
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::PoolTimeout(_)), "{err:?}");
}
