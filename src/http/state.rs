//! What every HTTP handler shares. Built by one constructor, used by `serve` and the tests.

use std::sync::Arc;

use crate::config::WebhookConfig;
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
        })
    }

    /// With the user API and the connect flow.
    pub fn with_connect(mut self, connect: ConnectService) -> Self {
        self.connect = Some(Arc::new(connect));
        self
    }
}
