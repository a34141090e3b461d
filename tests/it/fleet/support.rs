//! A fleet world: the emulator in-process, a database and a Redis namespace of the test's
//! own, users whose refresh tokens are sealed with the child processes' key, and their
//! calendars watched in-process. Workers are real `calsync worker` child processes.

use std::collections::BTreeMap;

use calsync::account::GoogleAccounts;
use calsync::channel_token;
use calsync::channels::{WatchTarget, watch_calendar};
use calsync::config::{GoogleConfig, SyncSettings};
use calsync::crypto::{EncryptionKey, TokenCipher};
use calsync::db::models::calendar_channel::{self, CalendarChannel};
use calsync::db::models::google_credential;
use calsync::ids::UserId;
use calsync::inbound::SyncContext;
use chrono::Utc;
use gcal_emulator::{Emulator, EmulatorConfig, RecordedRequest, TestUser};
use uuid::Uuid;

use crate::helpers::builders::insert_user;
use crate::helpers::process::{ChildProcess, calsync_worker};
use crate::helpers::test_app::SECRET;
use crate::helpers::test_db::TestDb;
use crate::helpers::test_redis::{TestRedis, retry_policy};

/// The public address the channels are given (nothing listens: notifications go nowhere).
pub const PUBLIC_URL: &str = "https://calsync.example.test";

pub struct FleetUser {
    pub id: UserId,
    pub google: TestUser,
}

// Fields drop in order: the workers go before the database and Redis they use.
pub struct Fleet {
    pub workers: Vec<ChildProcess>,
    pub emu: Emulator,
    pub redis: TestRedis,
    pub db: TestDb,
    pub ctx: SyncContext,
    pub config: EmulatorConfig,
    pub users: Vec<FleetUser>,
}

impl Fleet {
    /// `users` users, each with a credential the children can open.
    pub async fn start(config: EmulatorConfig, users: usize) -> Self {
        let emu = Emulator::start(config.clone()).await.unwrap();
        let db = TestDb::new();
        // The child workers' key (`TOKEN_ENCRYPTION_KEY`: 32 zero bytes).
        let cipher = TokenCipher::new(
            1,
            EncryptionKey::from_slice(&[0; 32]).unwrap(),
            BTreeMap::new(),
        );
        let mut conn = db.conn();
        let users = (0..users)
            .map(|_| {
                let id = insert_user(&mut conn);
                let google = emu
                    .add_user(&format!("fleet-{}@example.com", Uuid::new_v4().simple()))
                    .unwrap();
                google_credential::store_refresh_token(
                    &mut conn,
                    &cipher,
                    id,
                    &google.refresh_token,
                    "calendar",
                )
                .unwrap();
                FleetUser { id, google }
            })
            .collect();
        let google_config = GoogleConfig::for_endpoints(
            &emu.urls().api_base,
            &emu.urls().token_url,
            &config.client_id,
            &config.client_secret,
        );
        let ctx = SyncContext {
            db: db.db(),
            google: GoogleAccounts::new(&google_config, db.db(), cipher).unwrap(),
            settings: SyncSettings::default(),
            retry: retry_policy(),
        };
        Self {
            workers: Vec::new(),
            emu,
            redis: TestRedis::new(),
            db,
            ctx,
            config,
            users,
        }
    }

    pub fn target() -> WatchTarget {
        WatchTarget {
            address: format!("{PUBLIC_URL}/api/webhooks/google-calendar"),
            ttl: None,
        }
    }

    /// Watches `calendars` calendars of every user (the primary, then new ones), in-process.
    pub async fn watch(&self, calendars: usize) -> Vec<CalendarChannel> {
        let token_for = |id: &str| channel_token::derive(&SECRET.to_owned().into(), id);
        let mut watched = Vec::new();
        for user in &self.users {
            for n in 0..calendars {
                let calendar = if n == 0 {
                    user.google.calendar_id.clone()
                } else {
                    self.emu
                        .user_create_calendar(&user.google.email, &format!("Cal {n}"))
                        .unwrap()
                };
                let (channel, _) =
                    watch_calendar(&self.ctx, user.id, &calendar, &Self::target(), token_for)
                        .await
                        .unwrap();
                watched.push(channel);
            }
        }
        watched
    }

    /// Starts `n` worker processes against the emulator, with the extra settings.
    pub fn spawn_workers(&mut self, n: usize, env: &[(&str, &str)]) {
        for i in 0..n {
            let mut command =
                calsync_worker(self.db.url(), self.redis.url(), self.redis.namespace());
            command
                .env("WORKER_NAME", format!("fleet-{i}"))
                .env("GOOGLE_API_BASE_URL", &self.emu.urls().api_base)
                .env("GOOGLE_OAUTH_TOKEN_URL", &self.emu.urls().token_url)
                .env("GOOGLE_CLIENT_ID", &self.config.client_id)
                .env("GOOGLE_CLIENT_SECRET", &self.config.client_secret)
                .env("CHANNEL_TOKEN_SECRET", SECRET)
                .env("BACKSTOP_SYNC_INTERVAL_SECS", "0")
                .env("OUTBOX_SWEEP_INTERVAL_MS", "100")
                .env("RUST_LOG", "warn");
            for (k, v) in env {
                command.env(k, v);
            }
            self.workers
                .push(ChildProcess::spawn(&mut command, "calsync worker"));
        }
    }

    /// Every worker is still running (none died on the way).
    pub fn all_running(&mut self) -> bool {
        self.workers.iter_mut().all(ChildProcess::is_running)
    }

    pub fn channels(&self) -> Vec<CalendarChannel> {
        calendar_channel::list_all(&mut self.db.conn()).unwrap()
    }

    /// Calendar API requests recorded since the `from`-th.
    pub fn api_requests(&self, from: usize) -> Vec<RecordedRequest> {
        self.emu.requests().split_off(from)
    }

    /// How many requests the emulator has recorded so far.
    pub fn requests_so_far(&self) -> usize {
        self.emu.requests().len()
    }

    /// Channels live at the emulator: not stopped and not expired.
    pub fn live_channels(&self) -> Vec<String> {
        let now = Utc::now();
        self.emu
            .channels()
            .into_iter()
            .filter(|c| !c.stopped && c.expiration > now)
            .map(|c| c.id)
            .collect()
    }

    /// A counter of the fleet's quota stats hash in Redis.
    pub fn quota_stat(&self, field: &str) -> u64 {
        let client = redis::Client::open(self.redis.url()).unwrap();
        let mut conn = client.get_connection().unwrap();
        let n: Option<u64> = redis::cmd("HGET")
            .arg(calsync::quota::Quota::stats_key(self.redis.namespace()))
            .arg(field)
            .query(&mut conn)
            .unwrap();
        n.unwrap_or(0)
    }

    pub fn sql(&self, statement: &str) {
        diesel::RunQueryDsl::execute(diesel::sql_query(statement), &mut self.db.conn()).unwrap();
    }
}

pub fn is(r: &RecordedRequest, method: &str, suffix: &str) -> bool {
    r.method == method && r.path.ends_with(suffix)
}
