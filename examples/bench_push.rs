//! Outbound push benchmark for `scripts/bench-push`: 1,000 cases over 50 users, 5 deadlines
//! each, written in one transaction; measures the time until all 5,000 events exist in an
//! in-process Google emulator, and the Google requests it took.
//!
//! Usage: `bench_push [QUOTA_PER_USER_PER_MINUTE]` (no argument: no quota).
//! Env: `PG_ADMIN_URL`, `REDIS_URL`, `USERS`, `CASES`, `CONCURRENCY`,
//! `PUSH_REQUESTS_PER_MINUTE` (the pacing budget, as the worker reads it; 0 = off),
//! `TIMEOUT_SECS` (default 600: the line is printed, and the run fails, if not all events
//! exist by then).
//! A temporary database is created and dropped; Redis keys live in a random namespace that is
//! deleted at the end. Prints one `BENCH ...` line.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use calsync::account::GoogleAccounts;
use calsync::channels::{WatchTarget, watch_calendar};
use calsync::config::{
    DatabaseConfig, GoogleConfig, QueueConfig, RedisConfig, SyncConfig, SyncSettings, WorkerConfig,
    unique_name,
};
use calsync::crypto::{EncryptionKey, TokenCipher};
use calsync::db::models::google_credential;
use calsync::db::{Db, migrations};
use calsync::inbound::SyncContext;
use calsync::queue;
use calsync::retry::RetryPolicy;
use calsync::worker::{self, WorkerSetup};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use gcal_emulator::{Emulator, EmulatorConfig};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let quota: Option<u32> = std::env::args().nth(1).map(|q| q.parse()).transpose()?;
    let admin_url = env(
        "PG_ADMIN_URL",
        "postgres://postgres:postgres@127.0.0.1:5432/postgres",
    );
    let redis_url = env("REDIS_URL", "redis://127.0.0.1:6379");
    let users: usize = env("USERS", "50").parse()?;
    let cases: usize = env("CASES", "1000").parse()?;
    let concurrency: usize = env("CONCURRENCY", "8").parse()?;
    let pace: u32 = env("PUSH_REQUESTS_PER_MINUTE", "540").parse()?;
    let timeout: u64 = env("TIMEOUT_SECS", "600").parse()?;

    let db_name = format!("calsync_bench_push_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&admin_url)?;
    diesel::sql_query(format!("CREATE DATABASE {db_name}")).execute(&mut admin)?;
    let db_url = format!(
        "{}/{db_name}",
        admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(p, _)| p)
    );
    let namespace = format!("calsync-bench-push-{}", uuid::Uuid::new_v4().simple());
    let shape = Shape {
        quota,
        users,
        cases,
        concurrency,
        pace,
        timeout,
    };
    let result = run(&db_url, &redis_url, &namespace, &shape).await;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        .execute(&mut admin)?;
    drop_namespace(&redis_url, &namespace)?;
    result
}

async fn run(db_url: &str, redis_url: &str, namespace: &str, shape: &Shape) -> anyhow::Result<()> {
    let Shape {
        quota,
        users,
        cases,
        concurrency,
        pace,
        timeout,
    } = *shape;
    let mut conn = PgConnection::establish(db_url)?;
    migrations::apply_pending(&mut conn)?;
    let db = Db::new(&DatabaseConfig::for_url(db_url));
    let config = EmulatorConfig {
        quota_per_user_per_minute: quota,
        ..EmulatorConfig::default()
    };
    let emu = Emulator::start(config.clone()).await?;
    let cipher = TokenCipher::new(1, EncryptionKey::random(), BTreeMap::new());
    let google = GoogleAccounts::new(
        &GoogleConfig::for_endpoints(
            &emu.urls().api_base,
            &emu.urls().token_url,
            &config.client_id,
            &config.client_secret,
        ),
        db.clone(),
        cipher.clone(),
    )?;
    let ctx = SyncContext {
        db: db.clone(),
        google,
        settings: SyncSettings::default(),
        retry: RetryPolicy::default(),
    };

    // 50 users, each with Google connected and a watched calendar (no webhook receiver: the
    // inbound side is not measured here).
    let target = WatchTarget {
        address: "http://127.0.0.1:9/api/webhooks/google-calendar".to_owned(),
        ttl: None,
    };
    let mut calendars = Vec::new();
    let mut user_ids = Vec::new();
    for i in 0..users {
        let email = format!("bench-{i}-{}@example.com", uuid::Uuid::new_v4().simple());
        let user_id: calsync::ids::UserId =
            diesel::sql_query("INSERT INTO perm_users (email) VALUES ($1) RETURNING id")
                .bind::<Text, _>(&email)
                .get_result::<IdRow>(&mut conn)?
                .id;
        let g = emu.add_user(&email)?;
        google_credential::store_refresh_token(
            &mut conn,
            &cipher,
            user_id,
            &g.refresh_token,
            "calendar",
        )?;
        watch_calendar(&ctx, user_id, &g.calendar_id, &target, |id| id.to_owned()).await?;
        calendars.push(g.calendar_id);
        user_ids.push(user_id);
    }
    emu.clear_records();

    let queue_config = QueueConfig::with_namespace(namespace);
    let redis = queue::connect(&RedisConfig::for_url(redis_url))?;
    // The worker as `calsync worker` runs it (its inbound side idles: no webhook here).
    let setup = WorkerSetup {
        db: db.clone(),
        redis,
        queue: queue_config,
        worker: WorkerConfig {
            name: unique_name("bench-push"),
            concurrency,
            shutdown_grace: Duration::from_secs(10),
        },
        sync: SyncConfig {
            settings: SyncSettings::default(),
            outbox_sweep_interval: Duration::from_millis(50),
            push_batch_cases: 200,
            backstop_interval: None,
            push_requests_per_minute: Some(pace).filter(|p| *p > 0),
            event_style: Default::default(),
        },
        google: ctx.google.clone(),
        retry: RetryPolicy::default(),
        renewal: None,
        fleet: calsync::config::FleetConfig::default(),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(worker::run(setup, async move {
        let _ = stop_rx.await;
    }));

    // 1,000 cases, 5 deadlines each, in one transaction.
    let users_sql = user_ids
        .iter()
        .map(|u| format!("'{u}'::uuid"))
        .collect::<Vec<_>>()
        .join(",");
    let started = Instant::now();
    conn.batch_execute(&format!(
        "INSERT INTO cases (user_id, employer_name, beneficiary_name, pwd_expiration_date,
                            recruitment_start_date, filing_window_opens, filing_window_closes,
                            i140_filing_deadline)
         SELECT (ARRAY[{users_sql}])[1 + n % {users}], 'Bench Employer', 'Beneficiary ' || n,
                date '2027-01-01' + n % 300, date '2027-02-01' + n % 300,
                date '2027-03-01' + n % 300, date '2027-04-01' + n % 300,
                date '2027-05-01' + n % 300
         FROM generate_series(0, {cases} - 1) n"
    ))?;
    let wanted = cases * 5;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let live = |emu: &Emulator| {
        calendars
            .iter()
            .flat_map(|c| emu.events(c))
            .filter(|e| e["status"].as_str() != Some("cancelled"))
            .count()
    };
    while live(&emu) < wanted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    loop {
        let left = diesel::sql_query("SELECT count(*) AS n FROM calendar_outbox")
            .get_result::<Count>(&mut conn)?
            .n;
        if left == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = started.elapsed();
    let _ = stop_tx.send(());
    worker.await??;

    let requests = emu.requests();
    let api: Vec<_> = requests
        .iter()
        .filter(|r| r.path.contains("/calendar/v3/"))
        .collect();
    let inserts = api
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/events") && r.status == 200)
        .count();
    let duplicates = api
        .iter()
        .filter(|r| r.method == "POST" && r.status == 409)
        .count();
    let patches = api.iter().filter(|r| r.method == "PATCH").count();
    let errors = api
        .iter()
        .filter(|r| r.status >= 400 && r.status != 409)
        .count();
    let rate_limited = api
        .iter()
        .filter(|r| r.status == 403 || r.status == 429)
        .count();
    let events = live(&emu);
    println!(
        "BENCH quota={} pace={pace} users={users} cases={cases} concurrency={concurrency} events={events} \
         seconds_to_all_events={:.2} seconds_to_empty_outbox={:.2} google_requests={} \
         inserts={inserts} inserts_per_event={:.3} requests_per_event={:.3} duplicates_409={duplicates} \
         patches={patches} errors={errors} rate_limited={rate_limited}",
        quota.map_or("none".to_owned(), |q| q.to_string()),
        elapsed.as_secs_f64(),
        drained.as_secs_f64(),
        api.len(),
        inserts as f64 / events.max(1) as f64,
        api.len() as f64 / events.max(1) as f64,
    );
    anyhow::ensure!(events == wanted, "expected {wanted} events, found {events}");
    Ok(())
}

struct Shape {
    quota: Option<u32>,
    users: usize,
    cases: usize,
    concurrency: usize,
    pace: u32,
    timeout: u64,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: calsync::ids::UserId,
}

fn drop_namespace(url: &str, namespace: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_connection()?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{namespace}:*"))
        .query(&mut conn)?;
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(keys).query(&mut conn)?;
    }
    Ok(())
}
