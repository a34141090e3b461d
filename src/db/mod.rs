//! PostgreSQL access: the connection pool, the one helper that runs diesel on the blocking
//! pool, the embedded migrations, the generated schema and the models.
//!
//! Query functions in `models` take `&mut PgConnection` so callers compose them inside
//! `conn.transaction(..)`; nothing here talks to Google or holds a connection across an
//! `.await`.

pub mod migrations;
pub mod models;
mod pool;
pub mod schema;

pub use pool::{Db, DbError, PgPool, connect};
