//! What every HTTP handler shares. Built by one constructor, used by `serve` and the tests.

use std::sync::Arc;

use crate::config::{RedisConfig, WebhookConfig};
use crate::connect::ConnectService;
use crate::db::Db;
use crate::http::metrics::Metrics;
use crate::http::webhooks::unrecorded::UnrecordedChannels;
use crate::jobs::JobQueue;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub queue: JobQueue,
    pub webhook: Arc<WebhookConfig>,
    pub metrics: Arc<Metrics>,
    /// Channels whose notification was answered 5xx, synced once the queue is back.
    pub unrecorded: Arc<UnrecordedChannels>,
    /// The user API and the connect flow; `None` when `JWT_SECRET` is not configured.
    pub connect: Option<Arc<ConnectService>>,
    /// Set by `serve`: each HTTP worker thread then records over a connection of its own.
    redis: Option<Arc<RedisConfig>>,
}

impl AppState {
    pub fn new(db: Db, queue: JobQueue, webhook: WebhookConfig) -> anyhow::Result<Self> {
        Ok(Self {
            db,
            queue,
            unrecorded: Arc::new(UnrecordedChannels::new(webhook.unrecorded_channels_max)),
            webhook: Arc::new(webhook),
            metrics: Arc::new(Metrics::new()?),
            connect: None,
            redis: None,
        })
    }

    /// With the user API and the connect flow.
    pub fn with_connect(mut self, connect: ConnectService) -> Self {
        self.connect = Some(Arc::new(connect));
        self
    }

    /// Gives each HTTP worker thread ([`Self::for_worker_thread`]) its own Redis connection
    /// and group commit for notifications: no hop between threads per call.
    pub fn with_connection_per_thread(mut self, redis: RedisConfig) -> Self {
        self.redis = Some(Arc::new(redis));
        self
    }

    /// The state one HTTP worker thread runs with (called once per thread). The connection
    /// is lazy, so it is made, and its I/O runs, on the thread that first uses it.
    pub fn for_worker_thread(&self) -> Self {
        let mut state = self.clone();
        if let Some(redis) = &self.redis {
            match crate::queue::connect(redis) {
                Ok(conn) => state.queue = self.queue.with_recorder_connection(conn),
                Err(e) => log::warn!("a worker thread shares the process's Redis connection: {e}"),
            }
        }
        state
    }
}
