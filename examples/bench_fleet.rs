//! Fleet benchmark, run by `scripts/bench-fleet` (see `docs/benchmarks.md`, "Fleet").
//!
//! In one process: the Google emulator (enforcing Google's 600 units per user per minute),
//! calsync's webhook server and `BENCH_WORKERS` workers (default 3), each built as
//! `calsync worker` builds it (its own database pool), against a temporary PostgreSQL
//! database and a random Redis namespace (both removed at the end).
//!
//! 1. Seeds `BENCH_CHANNELS` idle channels (default 10,000), one per user, in a steady
//!    state: expirations spread over the next week, backstop due times over the next
//!    interval.
//! 2. Runs one day compressed into `BENCH_DAY_SECS` (default 480): the channel lifetime,
//!    the renewal window, the backstop interval and the workers' check periods are scaled
//!    down by the same factor. Reports Google requests per channel per day by lane (the
//!    shared quota's own accounting, checked against the emulator's record), PostgreSQL
//!    transactions per second, the Redis memory of the namespace, and quota waits.
//! 3. Sends 1,000 notifications over 5 s for one channel through the webhook, with a change
//!    at Google just before the last one; reports the listings it cost and whether the last
//!    change was listed.

#[path = "support/scratch.rs"]
mod scratch;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use calsync::account::GoogleAccounts;
use calsync::channel_token;
use calsync::channels::WatchTarget;
use calsync::config::{
    DatabaseConfig, FleetConfig, GoogleConfig, HttpConfig, QueueConfig, RedisConfig, SyncConfig,
    SyncSettings, WebhookConfig, WorkerConfig, unique_name,
};
use calsync::crypto::{EncryptionKey, TokenCipher};
use calsync::db::Db;
use calsync::db::models::google_credential;
use calsync::http::{self, AppState};
use calsync::ids::UserId;
use calsync::jobs::JobQueue;
use calsync::queue;
use calsync::quota::{Lane, Quota};
use calsync::retry::RetryPolicy;
use calsync::worker::{self, RenewalSetup, WorkerSetup};
use chrono::{NaiveDate, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use gcal_emulator::{Emulator, EmulatorConfig, EventInput, RecordedRequest};
use uuid::Uuid;

use scratch::{Namespace, TempDb};

const SECRET: &str = "bench-fleet-channel-token-secret-0123456789";
const DAY: u64 = 86_400;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The shared quota's counters in the benchmark's namespace.
fn quota_stats(namespace: &Namespace) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut conn = namespace.conn()?;
    Ok(redis::cmd("HGETALL")
        .arg(Quota::stats_key(&namespace.name))
        .query(&mut conn)?)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct ChannelRow {
    #[diesel(sql_type = Text)]
    channel_id: String,
    #[diesel(sql_type = Text)]
    resource_id: String,
    #[diesel(sql_type = Text)]
    calendar_id: String,
}

fn transactions(conn: &mut PgConnection) -> anyhow::Result<i64> {
    Ok(sql_query(
        "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database \
         WHERE datname = current_database()",
    )
    .get_result::<Count>(conn)?
    .n)
}

/// Users, their sealed credentials, and one idle channel each, in a steady state.
fn seed(
    conn: &mut PgConnection,
    emu: &Emulator,
    cipher: &TokenCipher,
    n: usize,
    day: Duration,
    backstop: Duration,
) -> anyhow::Result<()> {
    let n_i64 = i64::try_from(n)?;
    let ids: Vec<Uuid> = sql_query(
        "INSERT INTO perm_users (email) SELECT 'bench-' || g || '@example.com' \
         FROM generate_series(1, $1) g ORDER BY g RETURNING id",
    )
    .bind::<BigInt, _>(n_i64)
    .load::<IdRow>(conn)?
    .into_iter()
    .map(|r| r.id)
    .collect();
    let now_ms = Utc::now().timestamp_millis();
    let day_ms = i64::try_from(day.as_millis())?;
    let backstop_ms = i64::try_from(backstop.as_millis())?;
    let mut values = Vec::with_capacity(n);
    for (i, id) in ids.iter().enumerate() {
        let user = emu.add_user(&format!("bench-user-{i}@example.com"))?;
        google_credential::store_refresh_token(
            conn,
            cipher,
            UserId(*id),
            &user.refresh_token,
            "calendar",
        )?;
        let share = i64::try_from(i)? * 1000 / n_i64;
        // Expiring over the week after the first day, due for a poll over one interval.
        let expiration = now_ms + day_ms + share * 7 * day_ms / 1000;
        let due_ms = share * backstop_ms / 1000;
        values.push(format!(
            "('{id}', '{cal}', '{chan}', 'res-{i}', {expiration}, now() + interval '{due_ms} milliseconds')",
            cal = user.calendar_id,
            chan = Uuid::new_v4(),
        ));
    }
    for chunk in values.chunks(1000) {
        sql_query(format!(
            "INSERT INTO calendar_sync_channels \
             (user_id, calendar_id, channel_id, resource_id, expiration_timestamp, backstop_due_at) \
             VALUES {}",
            chunk.join(",")
        ))
        .execute(conn)?;
    }
    Ok(())
}

fn kind_of(r: &RecordedRequest) -> &'static str {
    if !r.path.starts_with("/calendar/v3/") {
        "oauth"
    } else if r.path.ends_with("/events/watch") {
        "watch"
    } else if r.path.ends_with("/channels/stop") {
        "stop"
    } else if r.method == "GET" && r.path.ends_with("/events") {
        "list"
    } else {
        "other"
    }
}

#[allow(clippy::too_many_lines)]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let channels: usize = env_or("BENCH_CHANNELS", 10_000);
    let workers: usize = env_or("BENCH_WORKERS", 3);
    let day_secs: u64 = env_or("BENCH_DAY_SECS", 480);
    let scale = DAY / day_secs;
    let scaled = |secs: u64| Duration::from_millis(secs * 1000 / scale);
    let day = Duration::from_secs(day_secs);
    let backstop = scaled(14_400);
    let ttl = scaled(7 * DAY);
    let window = scaled(DAY);
    let admin_url = std::env::var("BENCH_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned());
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    println!(
        "{channels} channels, {workers} workers, one day in {day_secs} s (x{scale}): channel \
         lifetime {:.0} s, renewal window {:.0} s, backstop every {:.1} s",
        ttl.as_secs_f64(),
        window.as_secs_f64(),
        backstop.as_secs_f64()
    );

    let tmp = TempDb::create(&admin_url)?;
    let mut conn = tmp.conn()?;
    let emulator_config = EmulatorConfig::default();
    let emu = Emulator::start(emulator_config.clone()).await?;
    emu.set_quota(Some(600));
    let cipher = TokenCipher::new(1, EncryptionKey::random(), BTreeMap::new());
    let seeding = Instant::now();
    seed(&mut conn, &emu, &cipher, channels, day, backstop)?;
    println!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    let google_config = GoogleConfig::for_endpoints(
        &emu.urls().api_base,
        &emu.urls().token_url,
        &emulator_config.client_id,
        &emulator_config.client_secret,
    );
    let namespace = Namespace {
        url: redis_url.clone(),
        name: format!("calsync-bench-fleet-{}", Uuid::new_v4().simple()),
    };
    let queue_config = QueueConfig::with_namespace(&namespace.name);
    let redis = queue::connect(&RedisConfig::for_url(&redis_url))?;
    let db = Db::new(&DatabaseConfig::for_url(&tmp.url));
    let state = AppState::new(
        db.clone(),
        JobQueue::new(redis.clone(), &queue_config),
        WebhookConfig::with_secret(SECRET),
    )?;
    let (server, addr) = http::listen(
        state,
        &HttpConfig {
            bind_addr: "127.0.0.1:0".parse()?,
            admin_bind_addr: "127.0.0.1:0".parse()?,
            workers: 1,
        },
    )?;
    let server_handle = server.handle();
    tokio::spawn(server);
    let webhook = format!("http://{addr}/api/webhooks/google-calendar");

    // The project's per-minute budget is scaled like the day: a compressed minute carries
    // `scale` real minutes of requests. The per-user budget is not (a user's requests in a
    // compressed minute stay far below it).
    let defaults = FleetConfig::default();
    let fleet = FleetConfig {
        backstop_check_every: scaled(60).max(Duration::from_millis(50)),
        renewal_claim: Duration::from_secs(30),
        quota: calsync::quota::QuotaSettings {
            project_per_minute: defaults
                .quota
                .project_per_minute
                .map(|n| n.saturating_mul(u32::try_from(scale).unwrap_or(u32::MAX))),
            ..defaults.quota
        },
        ..defaults
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut running = Vec::new();
    for i in 0..workers {
        let db = Db::new(&DatabaseConfig::for_url(&tmp.url));
        let google = GoogleAccounts::new(&google_config, db.clone(), cipher.clone())?;
        let setup = WorkerSetup {
            db,
            redis: redis.clone(),
            queue: queue_config.clone(),
            worker: WorkerConfig {
                name: unique_name(&format!("bench-fleet-{i}")),
                concurrency: 8,
                shutdown_grace: Duration::from_secs(5),
            },
            sync: SyncConfig {
                settings: SyncSettings::default(),
                outbox_sweep_interval: Duration::from_millis(500),
                push_batch_cases: 200,
                backstop_interval: Some(backstop),
                push_requests_per_minute: None,
                event_style: Default::default(),
            },
            google,
            retry: RetryPolicy::default(),
            renewal: Some(RenewalSetup {
                target: WatchTarget {
                    address: webhook.clone(),
                    ttl: Some(ttl),
                },
                renew_before: window,
                every: scaled(600).max(Duration::from_millis(100)),
                token_for: Arc::new(|id: &str| {
                    channel_token::derive(&SECRET.to_owned().into(), id)
                }),
            }),
            fleet: fleet.clone(),
        };
        let mut rx = stop_rx.clone();
        running.push(tokio::spawn(worker::run(setup, async move {
            let _ = rx.wait_for(|s| *s).await;
        })));
    }

    // One compressed day.
    let requests_before = emu.requests().len();
    let stats_before = quota_stats(&namespace)?;
    let xact_before = transactions(&mut conn)?;
    let started = Instant::now();
    let mut peak_memory = (0, 0);
    while started.elapsed() < day {
        tokio::time::sleep(Duration::from_secs(60).min(day.saturating_sub(started.elapsed())))
            .await;
        let memory = namespace.memory()?;
        if memory.1 > peak_memory.1 {
            peak_memory = memory;
        }
    }
    let elapsed = started.elapsed();
    let xact = transactions(&mut conn)? - xact_before;
    let stats_after = quota_stats(&namespace)?;
    let requests: Vec<RecordedRequest> = emu.requests().split_off(requests_before);
    let delta = |field: &str| {
        stats_after.get(field).copied().unwrap_or(0) - stats_before.get(field).copied().unwrap_or(0)
    };
    #[allow(clippy::cast_precision_loss)]
    let per_channel =
        |n: u64| n as f64 / channels as f64 * (day.as_secs_f64() / elapsed.as_secs_f64());

    println!("\n## Idle channels: Google requests per channel per day, by lane");
    println!("| lane | requests in the day | per channel per day |");
    println!("|---|---|---|");
    let mut total = 0;
    for lane in Lane::ALL {
        let n = delta(&format!("units:{}", lane.as_str()));
        total += n;
        println!("| {} | {n} | {:.2} |", lane.as_str(), per_channel(n));
    }
    println!("| **all** | {total} | **{:.2}** |", per_channel(total));
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &requests {
        *kinds.entry(kind_of(r)).or_default() += 1;
    }
    let refused = requests
        .iter()
        .filter(|r| r.status == 403 || r.status == 429)
        .count();
    println!("\nAt the emulator: {kinds:?}; quota refusals (403/429): {refused}");
    println!(
        "Quota waits: {:?}",
        Lane::ALL.map(|l| (l.as_str(), delta(&format!("waits:{}", l.as_str()))))
    );
    #[allow(clippy::cast_precision_loss)]
    let xact_rate = xact as f64 / elapsed.as_secs_f64();
    println!(
        "PostgreSQL: {xact} transactions in {:.0} s = {xact_rate:.0}/s (statements run outside \
         an explicit transaction are one each)",
        elapsed.as_secs_f64()
    );
    println!(
        "Redis namespace: peak {} keys, {:.1} MiB (MEMORY USAGE summed)",
        peak_memory.0,
        peak_memory.1 as f64 / 1_048_576.0
    );
    let strays = sql_query("SELECT count(*) AS n FROM channel_strays")
        .get_result::<Count>(&mut conn)?
        .n;
    println!("Stray records left: {strays}");

    // The burst: 1,000 notifications over 5 s on one channel.
    let burst: ChannelRow = sql_query(
        "SELECT channel_id, resource_id, calendar_id FROM calendar_sync_channels \
         ORDER BY calendar_id LIMIT 1",
    )
    .get_result(&mut conn)?;
    let client = reqwest::Client::new();
    let token = channel_token::derive(&SECRET.to_owned().into(), &burst.channel_id);
    let burst_from = emu.requests().len();
    let burst_started = Instant::now();
    let mut last_change_at = Utc::now();
    let mut refused_posts = 0;
    for n in 1..=1000u32 {
        if n == 1000 {
            emu.user_create_event(
                &burst.calendar_id,
                &EventInput::all_day(
                    "The last change",
                    NaiveDate::from_ymd_opt(2027, 6, 1).unwrap_or_default(),
                    1,
                ),
            )?;
            last_change_at = Utc::now();
        }
        let status = client
            .post(&webhook)
            .header("X-Goog-Channel-ID", &burst.channel_id)
            .header("X-Goog-Channel-Token", &token)
            .header("X-Goog-Resource-ID", &burst.resource_id)
            .header("X-Goog-Resource-State", "exists")
            .header("X-Goog-Message-Number", (1_000 + n).to_string())
            .send()
            .await?
            .status();
        if !status.is_success() {
            refused_posts += 1;
        }
        let due = Duration::from_millis(u64::from(n) * 5);
        if let Some(wait) = due.checked_sub(burst_started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    let burst_took = burst_started.elapsed();
    // Settle: the trailing sync runs within the interval.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let listings: Vec<RecordedRequest> = emu
        .requests()
        .split_off(burst_from)
        .into_iter()
        .filter(|r| kind_of(r) == "list" && r.path.contains(&burst.calendar_id))
        .collect();
    let last_listed = listings
        .iter()
        .any(|r| r.at > last_change_at && r.status == 200);
    println!(
        "\n## Burst: 1,000 notifications on one channel in {:.1} s",
        burst_took.as_secs_f64()
    );
    println!(
        "listings: {}; a listing after the last change: {last_listed}; webhook non-2xx: {refused_posts}",
        listings.len()
    );

    let _ = stop_tx.send(true);
    for w in running {
        if let Err(e) = w.await? {
            println!("a worker ended with: {e:#}");
        }
    }
    server_handle.stop(true).await;
    Ok(())
}
