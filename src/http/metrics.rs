//! Prometheus metrics: counters and histograms of this process, plus the queue's depth and
//! job counters read from Redis at scrape time (they are kept by the queue scripts, so they
//! cover every `serve` and `worker` process).

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::http::AppState;

/// `calsync_outbox_rows` counts at most this many rows: the scrape's query reads no further,
/// however large the backlog (a value at the cap means "at least that many").
pub const OUTBOX_COUNT_CAP: i64 = 10_000;

/// How long one outbox count serves scrapes before PostgreSQL is asked again.
const OUTBOX_COUNT_TTL: Duration = Duration::from_secs(5);

pub struct Metrics {
    registry: Registry,
    /// `calsync_webhook_notifications_total{resource_state, outcome, reason}`.
    notifications: IntCounterVec,
    /// `calsync_http_request_duration_seconds{route, method, status}`.
    request_duration: HistogramVec,
    /// The last outbox count and when it was taken.
    outbox_count: Mutex<Option<(Instant, i64)>>,
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
            outbox_count: Mutex::new(None),
        })
    }

    /// Counts one notification. `resource_state` must already be one of a fixed set of
    /// labels, so callers cannot blow up the label cardinality.
    pub fn notification(&self, resource_state: &str, outcome: &str, reason: &str) {
        self.notifications
            .with_label_values(&[resource_state, outcome, reason])
            .inc();
    }

    /// Observes one request. Every label is taken from a fixed set, whatever the client
    /// sent: `route` must be one of `routes` (else `unmatched`), the method and the status are
    /// mapped by [`method_label`] and [`status_label`].
    pub fn request(
        &self,
        routes: &[&'static str],
        route: Option<&str>,
        method: &Method,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let route = route
            .and_then(|r| routes.iter().find(|known| **known == r))
            .copied()
            .unwrap_or("unmatched");
        self.request_duration
            .with_label_values(&[route, method_label(method), status_label(status)])
            .observe(elapsed.as_secs_f64());
    }

    fn cached_outbox_count(&self) -> Option<i64> {
        let cached = *self.outbox_count.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .filter(|(at, _)| at.elapsed() < OUTBOX_COUNT_TTL)
            .map(|(_, n)| n)
    }

    fn remember_outbox_count(&self, n: i64) {
        *self.outbox_count.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), n));
    }

    fn encode(&self) -> String {
        let mut buf = Vec::new();
        // Encoding our own well-formed families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// The method label: a standard method by name, any other (clients may invent methods) `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The status codes calsync or actix answer, labelled by number.
const STATUS_LABELS: [&str; 13] = [
    "200", "204", "400", "401", "403", "404", "405", "408", "413", "415", "429", "500", "503",
];

/// The status label: a code calsync or actix answers by number, any other by its class.
pub fn status_label(status: StatusCode) -> &'static str {
    let code = status.as_str();
    if let Some(known) = STATUS_LABELS.iter().find(|known| **known == code) {
        return known;
    }
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
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
        let quota = state.queue.quota_stats().counters().await?;
        Ok::<_, redis::RedisError>((all, quota))
    };
    let up = match tokio::time::timeout(Duration::from_secs(1), read).await {
        Ok(Ok((all, quota))) => {
            crate::quota::metrics::render(&mut out, &quota);
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
    let _ = writeln!(
        out,
        "# HELP calsync_webhook_unrecorded_channels Channels whose notification this process answered 5xx, waiting to be synced once the queue answers.\n# TYPE calsync_webhook_unrecorded_channels gauge\ncalsync_webhook_unrecorded_channels {}",
        state.unrecorded.len()
    );
    let outbox = match state.metrics.cached_outbox_count() {
        Some(n) => Some(n),
        None => {
            let counted = tokio::time::timeout(
                Duration::from_secs(1),
                state
                    .db
                    .run(|conn| count_outbox_capped(conn, OUTBOX_COUNT_CAP)),
            )
            .await;
            match counted {
                Ok(Ok(n)) => {
                    state.metrics.remember_outbox_count(n);
                    Some(n)
                }
                _ => None,
            }
        }
    };
    if let Some(n) = outbox {
        let _ = writeln!(
            out,
            "# HELP calsync_outbox_rows Case changes waiting to reach Google (counted up to {OUTBOX_COUNT_CAP}).\n# TYPE calsync_outbox_rows gauge\ncalsync_outbox_rows {n}"
        );
    }
    // Held channels are few and indexed (a partial index on status = 'held').
    let held = tokio::time::timeout(
        Duration::from_secs(1),
        state.db.run(|conn| {
            Ok::<_, crate::db::DbError>(crate::db::models::calendar_channel::count_held(conn)?)
        }),
    )
    .await;
    if let Ok(Ok(held)) = held {
        let _ = writeln!(
            out,
            "# HELP calsync_channels_held Channels held because a sync would have dismissed most of their deadlines at once.\n# TYPE calsync_channels_held gauge\ncalsync_channels_held {held}"
        );
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Rows in `calendar_outbox`, counting no further than `cap`: the scan stops at the cap, so a
/// scrape costs the shared database at most `cap` index entries, never a full count.
fn count_outbox_capped(
    conn: &mut diesel::PgConnection,
    cap: i64,
) -> Result<i64, crate::db::DbError> {
    use diesel::RunQueryDsl;
    let row: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM calendar_outbox LIMIT $1) AS capped",
    )
    .bind::<diesel::sql_types::BigInt, _>(cap)
    .get_result(conn)?;
    Ok(row.n)
}
