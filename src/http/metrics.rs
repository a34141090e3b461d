//! Prometheus metrics: counters and histograms of this process, plus the queue's depth and
//! job counters read from Redis at scrape time (they are kept by the queue scripts, so they
//! cover every `serve` and `worker` process).

use std::fmt::Write as _;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::http::AppState;

pub struct Metrics {
    registry: Registry,
    /// `calsync_webhook_notifications_total{resource_state, outcome, reason}`.
    notifications: IntCounterVec,
    /// `calsync_http_request_duration_seconds{route, method, status}`.
    request_duration: HistogramVec,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let notifications = IntCounterVec::new(
            Opts::new(
                "calsync_webhook_notifications_total",
                "Google Calendar notifications by resource state and outcome (accepted, \
                 coalesced, duplicate, ignored, rejected with a reason, unavailable).",
            ),
            &["resource_state", "outcome", "reason"],
        )?;
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "calsync_http_request_duration_seconds",
                "HTTP request latency by route, method and status.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route", "method", "status"],
        )?;
        registry.register(Box::new(notifications.clone()))?;
        registry.register(Box::new(request_duration.clone()))?;
        Ok(Self {
            registry,
            notifications,
            request_duration,
        })
    }

    /// Counts one notification. `resource_state` must already be one of a fixed set of
    /// labels, so callers cannot blow up the label cardinality.
    pub fn notification(&self, resource_state: &str, outcome: &str, reason: &str) {
        self.notifications
            .with_label_values(&[resource_state, outcome, reason])
            .inc();
    }

    pub fn request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.request_duration
            .with_label_values(&[route, method, &status.to_string()])
            .observe(elapsed.as_secs_f64());
    }

    fn encode(&self) -> String {
        let mut buf = Vec::new();
        // Encoding our own well-formed families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// Job events the queue scripts count, per queue.
const JOB_EVENTS: [&str; 9] = [
    "enqueued",
    "coalesced",
    "duplicate",
    "processed",
    "retried",
    "failed",
    "redelivered",
    "released",
    "lease_lost",
];

/// `GET /metrics`, Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut out = state.metrics.encode();
    let queues = [state.queue.calendar_changes(), state.queue.pushes()];
    let read = async {
        let mut all = Vec::new();
        for queue in queues {
            all.push((queue.name(), queue.depth().await?, queue.counters().await?));
        }
        Ok::<_, redis::RedisError>(all)
    };
    let up = match tokio::time::timeout(Duration::from_secs(1), read).await {
        Ok(Ok(all)) => {
            let _ = writeln!(out, "# HELP calsync_queue_depth Jobs per state.");
            let _ = writeln!(out, "# TYPE calsync_queue_depth gauge");
            for (name, depth, _) in &all {
                for (st, n) in [
                    ("ready", depth.ready),
                    ("delayed", depth.delayed),
                    ("inflight", depth.inflight),
                    ("dead", depth.dead),
                ] {
                    let _ = writeln!(
                        out,
                        "calsync_queue_depth{{queue=\"{name}\",state=\"{st}\"}} {n}"
                    );
                }
            }
            let _ = writeln!(
                out,
                "# HELP calsync_jobs_total Job events across all processes: enqueued, coalesced, \
                 duplicate, processed, retried, failed (dead), redelivered (lease expired), released."
            );
            let _ = writeln!(out, "# TYPE calsync_jobs_total counter");
            for (name, _, counters) in &all {
                for event in JOB_EVENTS {
                    let n = counters.get(event).copied().unwrap_or(0);
                    let _ = writeln!(
                        out,
                        "calsync_jobs_total{{queue=\"{name}\",event=\"{event}\"}} {n}"
                    );
                }
            }
            1
        }
        _ => 0,
    };
    let _ = writeln!(
        out,
        "# HELP calsync_queue_up Whether Redis answered this scrape."
    );
    let _ = writeln!(out, "# TYPE calsync_queue_up gauge\ncalsync_queue_up {up}");
    let counts = state.db.run(|conn| {
        Ok::<_, crate::db::DbError>((
            crate::db::models::outbox::count_waiting(conn)?,
            crate::db::models::calendar_channel::count_held(conn)?,
        ))
    });
    if let Ok(Ok((outbox, held))) = tokio::time::timeout(Duration::from_secs(1), counts).await {
        let _ = writeln!(
            out,
            "# HELP calsync_outbox_rows Case changes waiting to reach Google.\n# TYPE calsync_outbox_rows gauge\ncalsync_outbox_rows {outbox}"
        );
        let _ = writeln!(
            out,
            "# HELP calsync_channels_held Channels held because a sync would have dismissed most of their deadlines at once.\n# TYPE calsync_channels_held gauge\ncalsync_channels_held {held}"
        );
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}
