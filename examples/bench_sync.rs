//! Benchmark of the inbound sync, run by `scripts/bench-sync` (see `docs/benchmarks.md`).
//!
//! Everything runs in this process on one tokio runtime: the Google emulator, calsync's
//! webhook server, one worker as `calsync worker` builds it (its push side finds nothing to
//! do: the seeded events are already right), against a temporary PostgreSQL
//! database (created and dropped here) and a random Redis namespace (deleted afterwards).
//!
//! 1. Seeds a calendar of `BENCH_EVENTS` events (default 10,000), `BENCH_LINKED` of them
//!    (default 2,000) calsync's, with their cases and links written in bulk.
//! 2. Full sync (no sync token), `BENCH_FULL_RUNS` times: `sync_channel` wall time.
//! 3. Incremental syncs of 1, 100 and 1,000 moved events.
//! 4. Notification-to-applied latency over `BENCH_MOVES` moves (default 200), one at a time,
//!    through the whole pipeline: the emulator's notification → webhook → Redis → worker →
//!    committed case change (seen by polling the case row every millisecond).
//!
//! Emulator time: after each measured sync the same pages are fetched again with a bare
//! HTTP client (body bytes only, nothing decoded); that time is the emulator's share plus
//! loopback HTTP, and "calsync" is the wall time minus it.

#[path = "support/scratch.rs"]
mod scratch;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use calsync::account::GoogleAccounts;
use calsync::channel_token;
use calsync::channels::{WatchTarget, watch_calendar};
use calsync::config::{
    DatabaseConfig, GoogleConfig, HttpConfig, QueueConfig, RedisConfig, SyncConfig, SyncSettings,
    WebhookConfig, WorkerConfig, unique_name,
};
use calsync::crypto::{EncryptionKey, TokenCipher};
use calsync::db::Db;
use calsync::db::models::NewCalendarChannel;
use calsync::db::models::calendar_channel::{self as channels, generate_channel_id};
use calsync::db::models::case_event_link::NewCaseEventLink;
use calsync::db::models::google_credential;
use calsync::db::schema::case_event_links;
use calsync::domain::{DeadlineKind, EventMarker};
use calsync::google::GoogleError;
use calsync::http::{self, AppState};
use calsync::ids::{CaseId, UserId};
use calsync::inbound::{SyncContext, SyncOutcome, SyncReport, sync_channel};
use calsync::jobs::JobQueue;
use calsync::queue;
use calsync::retry::RetryPolicy;
use calsync::worker::{self, WorkerSetup};
use chrono::{NaiveDate, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Date, Nullable, Text, Uuid as SqlUuid};
use gcal_emulator::{Control, Emulator, EmulatorConfig, EventInput, EventTime};
use serde_json::json;
use uuid::Uuid;

use scratch::{Namespace, TempDb};

const KIND: DeadlineKind = DeadlineKind::RfeDue;
const SECRET: &str = "bench-sync-channel-token-secret-0123456789";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn base_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default()
}

struct Linked {
    case_id: CaseId,
    event_id: String,
}

#[derive(QueryableByName)]
struct CaseRow {
    #[diesel(sql_type = SqlUuid)]
    id: CaseId,
}

#[derive(QueryableByName)]
struct DateRow {
    #[diesel(sql_type = Nullable<Date>)]
    value: Option<NaiveDate>,
}

#[derive(QueryableByName)]
struct TokenRow {
    #[diesel(sql_type = Nullable<Text>)]
    sync_token: Option<String>,
}

/// Cases, events and links: `linked` of the `total` events are calsync's.
fn seed(
    conn: &mut PgConnection,
    emu: &Control,
    user_id: UserId,
    calendar: &str,
    total: usize,
    linked: usize,
) -> anyhow::Result<Vec<Linked>> {
    let cases: Vec<CaseRow> = sql_query(format!(
        "INSERT INTO cases (user_id, employer_name, beneficiary_name, {col})
         SELECT $1, 'Acme Robotics', 'Beneficiary ' || g, $2
         FROM generate_series(1, {linked}) g
         RETURNING id",
        col = KIND.column()
    ))
    .bind::<SqlUuid, _>(user_id)
    .bind::<Date, _>(base_date())
    .load(conn)?;
    let end = base_date().succ_opt().unwrap_or_default();
    let mut out = Vec::with_capacity(linked);
    let mut links = Vec::with_capacity(linked);
    for case in &cases {
        let marker = EventMarker {
            case_id: case.id,
            kind: KIND,
        };
        let event_id = marker.event_id(0);
        let created = emu.user_create_event_json(
            calendar,
            json!({
                "id": event_id,
                "summary": KIND.label(),
                "start": {"date": base_date().to_string()},
                "end": {"date": end.to_string()},
                "extendedProperties": {"private": marker.to_properties()},
            }),
        )?;
        let etag = created["etag"].as_str().unwrap_or_default().to_owned();
        links.push((case.id, event_id.clone(), etag));
        out.push(Linked {
            case_id: case.id,
            event_id,
        });
    }
    for chunk in links.chunks(1000) {
        let rows: Vec<NewCaseEventLink<'_>> = chunk
            .iter()
            .map(|(case_id, event_id, etag)| NewCaseEventLink {
                case_id: *case_id,
                user_id,
                deadline_kind: KIND.column(),
                calendar_id: calendar,
                google_event_id: event_id,
                generation: 0,
                etag: Some(etag),
                synced_date: Some(base_date()),
            })
            .collect();
        diesel::insert_into(case_event_links::table)
            .values(&rows)
            .execute(conn)?;
    }
    for i in 0..total.saturating_sub(linked) {
        let day = base_date() + chrono::Days::new((i % 365) as u64);
        emu.user_create_event(
            calendar,
            &EventInput::all_day(&format!("Personal event {i}"), day, 1),
        )?;
    }
    // Nothing pushes in this benchmark; the trigger's rows would only sit there.
    sql_query("DELETE FROM calendar_outbox").execute(conn)?;
    Ok(out)
}

fn move_event(
    emu: &Control,
    calendar: &str,
    event_id: &str,
    date: NaiveDate,
) -> anyhow::Result<()> {
    emu.user_move_event(
        calendar,
        event_id,
        &EventTime::Date(date),
        &EventTime::Date(date.succ_opt().unwrap_or_default()),
    )?;
    Ok(())
}

/// Fetches every page from `sync_token` (or a full listing) with a bare client, reading the
/// bodies as bytes; returns the time spent waiting on the emulator.
async fn raw_fetch(
    ctx: &SyncContext,
    api_base: &str,
    user_id: UserId,
    calendar: &str,
    sync_token: Option<&str>,
    page_size: u32,
) -> anyhow::Result<Duration> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Next {
        next_page_token: Option<String>,
    }
    let token = ctx
        .google
        .session(user_id)
        .call(|_, t| async move { Ok::<_, GoogleError>(t) })
        .await?;
    let client = reqwest::Client::new();
    let url = format!("{api_base}/calendars/{calendar}/events");
    let mut page: Option<String> = None;
    let mut waited = Duration::ZERO;
    loop {
        let mut query = vec![("maxResults".to_owned(), page_size.to_string())];
        if let Some(t) = sync_token {
            query.push(("syncToken".to_owned(), t.to_owned()));
        }
        if let Some(p) = &page {
            query.push(("pageToken".to_owned(), p.clone()));
        }
        let started = Instant::now();
        let body = client
            .get(&url)
            .bearer_auth(&token)
            .query(&query)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        waited += started.elapsed();
        match serde_json::from_slice::<Next>(&body)?.next_page_token {
            Some(next) => page = Some(next),
            None => return Ok(waited),
        }
    }
}

async fn sync(ctx: &SyncContext, channel_id: &str) -> anyhow::Result<(SyncReport, Duration)> {
    let started = Instant::now();
    match sync_channel(ctx, channel_id).await? {
        SyncOutcome::Synced(report) => Ok((report, started.elapsed())),
        other => bail!("expected a sync, got {other:?}"),
    }
}

fn token_of(conn: &mut PgConnection, channel_id: &str) -> anyhow::Result<Option<String>> {
    Ok(
        sql_query("SELECT sync_token FROM calendar_sync_channels WHERE channel_id = $1")
            .bind::<Text, _>(channel_id)
            .get_result::<TokenRow>(conn)?
            .sync_token,
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Nearest-rank percentile.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let total: usize = env_or("BENCH_EVENTS", 10_000);
    let linked_count: usize = env_or("BENCH_LINKED", 2_000);
    let full_runs: usize = env_or("BENCH_FULL_RUNS", 3);
    let moves: usize = env_or("BENCH_MOVES", 200);
    anyhow::ensure!(
        linked_count >= 1_000.max(moves) && linked_count <= total,
        "BENCH_LINKED must be at least 1000 and BENCH_MOVES, and at most BENCH_EVENTS"
    );
    let admin_url = std::env::var("BENCH_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned());
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());

    let tmp = TempDb::create(&admin_url)?;
    let mut conn = tmp.conn()?;
    let emulator_config = EmulatorConfig::default();
    let emu = Emulator::start(emulator_config.clone()).await?;
    let control = emu.control();
    let user_id: UserId =
        sql_query("INSERT INTO perm_users (email) VALUES ('bench@example.com') RETURNING id")
            .get_result::<CaseRow>(&mut conn)
            .map(|row| UserId(row.id.0))?;
    let google_user = emu.add_user("bench@example.com")?;
    let calendar = google_user.calendar_id.clone();
    let cipher = TokenCipher::new(1, EncryptionKey::random(), BTreeMap::new());
    google_credential::store_refresh_token(
        &mut conn,
        &cipher,
        user_id,
        &google_user.refresh_token,
        "calendar",
    )?;
    let db = Db::new(&DatabaseConfig::for_url(&tmp.url));
    let api_base = emu.urls().api_base.clone();
    let google = GoogleAccounts::new(
        &GoogleConfig::for_endpoints(
            &api_base,
            &emu.urls().token_url,
            &emulator_config.client_id,
            &emulator_config.client_secret,
        ),
        db.clone(),
        cipher,
    )?;
    let settings = SyncSettings::default();
    let page_size = settings.page_size;
    let ctx = SyncContext {
        db: db.clone(),
        google,
        settings,
        retry: RetryPolicy::default(),
    };

    let seeding = Instant::now();
    let linked = seed(&mut conn, &control, user_id, &calendar, total, linked_count)?;
    println!(
        "seeded {total} events ({linked_count} linked to cases) in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let channel_id = generate_channel_id();
    channels::upsert(
        &mut conn,
        &NewCalendarChannel {
            user_id,
            calendar_id: &calendar,
            channel_id: &channel_id,
            resource_id: "bench",
            resource_uri: None,
            sync_token: None,
            expiration_timestamp: 4_102_444_800_000,
        },
    )?;

    println!("\n## Full sync ({total} events, {linked_count} linked, page size {page_size})");
    println!("| run | wall ms | emulator+HTTP ms | calsync ms | pages | echoes | ignored |");
    println!("|---|---|---|---|---|---|---|");
    for run in 1..=full_runs {
        sql_query("UPDATE calendar_sync_channels SET sync_token = NULL").execute(&mut conn)?;
        let (report, wall) = sync(&ctx, &channel_id).await?;
        anyhow::ensure!(report.full && report.events == total, "{report:?}");
        let emulator = raw_fetch(&ctx, &api_base, user_id, &calendar, None, page_size).await?;
        println!(
            "| {run} | {:.0} | {:.0} | {:.0} | {} | {} | {} |",
            ms(wall),
            ms(emulator),
            ms(wall.saturating_sub(emulator)),
            report.pages,
            report.stats.echoes,
            report.stats.ignored,
        );
    }

    println!("\n## Incremental syncs (moved linked events; median of the repetitions)");
    println!(
        "| changes | reps | wall ms | events/s | emulator+HTTP ms | calsync ms | calsync events/s |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut shift = 0u64;
    for (changes, reps) in [(1usize, 10usize), (100, 5), (1_000, 3)] {
        let (mut walls, mut calsync, mut emulator) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            shift += 1;
            let date = base_date() + chrono::Days::new(shift);
            let before = token_of(&mut conn, &channel_id)?;
            for l in &linked[..changes] {
                move_event(&control, &calendar, &l.event_id, date)?;
            }
            let (report, wall) = sync(&ctx, &channel_id).await?;
            anyhow::ensure!(
                !report.full && report.stats.applied == changes,
                "{report:?}"
            );
            let waited = raw_fetch(
                &ctx,
                &api_base,
                user_id,
                &calendar,
                before.as_deref(),
                page_size,
            )
            .await?;
            walls.push(wall);
            calsync.push(wall.saturating_sub(waited));
            emulator.push(waited);
        }
        let (wall, calsync, emulator) = (median(walls), median(calsync), median(emulator));
        println!(
            "| {changes} | {reps} | {:.1} | {:.0} | {:.1} | {:.1} | {:.0} |",
            ms(wall),
            changes as f64 / wall.as_secs_f64(),
            ms(emulator),
            ms(calsync),
            changes as f64 / calsync.as_secs_f64(),
        );
    }

    // The whole pipeline: webhook server, Redis queue, one worker.
    let namespace = Namespace {
        url: redis_url.clone(),
        name: format!("calsync-bench-sync-{}", Uuid::new_v4().simple()),
    };
    let queue_config = QueueConfig::with_namespace(&namespace.name);
    let redis = queue::connect(&RedisConfig::for_url(&redis_url))?;
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
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let setup = WorkerSetup {
        db: db.clone(),
        redis,
        queue: queue_config,
        worker: WorkerConfig {
            name: unique_name("bench"),
            concurrency: 4,
            shutdown_grace: Duration::from_secs(5),
        },
        sync: SyncConfig {
            settings: ctx.settings.clone(),
            outbox_sweep_interval: Duration::from_millis(500),
            push_batch_cases: 200,
            backstop_interval: None,
            push_requests_per_minute: None,
            event_style: Default::default(),
        },
        google: ctx.google.clone(),
        retry: RetryPolicy::default(),
        renewal: None,
        // Every move is measured on its own: no burst throttle.
        fleet: calsync::config::FleetConfig {
            sync_min_interval: None,
            ..calsync::config::FleetConfig::default()
        },
    };
    let worker = tokio::spawn(worker::run(setup, async move {
        let _ = stop_rx.await;
    }));
    // A watched channel in place of the bare row (same calendar, same sync position).
    sql_query("DELETE FROM calendar_sync_channels").execute(&mut conn)?;
    let (channel, _) = watch_calendar(
        &ctx,
        user_id,
        &calendar,
        &WatchTarget {
            address: format!("http://{addr}/api/webhooks/google-calendar"),
            ttl: None,
        },
        |id| channel_token::derive(&SECRET.to_owned().into(), id),
    )
    .await?;

    let driver = {
        let (control, calendar) = (control.clone(), calendar.clone());
        let ids: Vec<(CaseId, String)> = linked[..moves]
            .iter()
            .map(|l| (l.case_id, l.event_id.clone()))
            .collect();
        let url = tmp.url.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Duration>> {
            let mut conn = PgConnection::establish(&url)?;
            let date = base_date() + chrono::Days::new(400);
            let mut latencies = Vec::with_capacity(ids.len());
            for (case_id, event_id) in &ids {
                let started = Instant::now();
                move_event(&control, &calendar, event_id, date)?;
                loop {
                    let now: Option<NaiveDate> = sql_query(format!(
                        "SELECT {} AS value FROM cases WHERE id = $1",
                        KIND.column()
                    ))
                    .bind::<SqlUuid, _>(*case_id)
                    .get_result::<DateRow>(&mut conn)?
                    .value;
                    if now == Some(date) {
                        latencies.push(started.elapsed());
                        break;
                    }
                    anyhow::ensure!(
                        started.elapsed() < Duration::from_secs(30),
                        "a move did not apply within 30 s"
                    );
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(latencies)
        })
    };
    let mut latencies = driver.await??;
    latencies.sort();
    let notified: Vec<_> = emu
        .notifications()
        .into_iter()
        .filter(|n| n.channel_id == channel.channel_id && n.resource_state == "exists")
        .collect();
    let ok = notified.iter().filter(|n| n.status() == Some(200)).count();
    println!(
        "\n## Notification to applied ({} moves, one at a time; {ok} notifications answered 200)",
        latencies.len()
    );
    println!("| p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---|---|---|");
    println!(
        "| {:.1} | {:.1} | {:.1} | {:.1} |",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
    );
    println!(
        "\nfinished at {} (build: {})",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );

    let _ = stop_tx.send(());
    worker.await??;
    server_handle.stop(true).await;
    drop(conn);
    Ok(())
}
