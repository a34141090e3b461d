//! Typed configuration, read from the environment only (a `.env` file may supply it in
//! development). Each section has a `from_env()` whose doc comment lists the variables it
//! reads and their defaults; errors always name the variable. There is no global config:
//! roles build what they need and pass it down, and tests build it in code.

mod auth;
mod connect;
mod crypto;
mod database;
pub mod env;
mod event_style;
mod fleet;
mod google;
mod http;
mod queue;
mod redis;
mod retry;
mod sync;
mod watch;
mod webhook;
mod worker;

pub use auth::AuthConfig;
pub use connect::{CalendarMode, ConnectConfig};
pub use crypto::CryptoConfig;
pub use database::DatabaseConfig;
pub use env::ConfigError;
pub use event_style::{EventStyle, Reminder};
pub use fleet::FleetConfig;
pub use google::GoogleConfig;
pub use http::HttpConfig;
pub use queue::QueueConfig;
pub use redis::RedisConfig;
pub use sync::{SyncConfig, SyncSettings};
pub use watch::WatchConfig;
pub use webhook::WebhookConfig;
pub use worker::{WorkerConfig, unique_name};
