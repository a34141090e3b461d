//! A world with Google in it: the emulator in-process, a fresh database, a user who has
//! connected Google (refresh token sealed in `google_credentials`), and the clients calsync
//! builds from configuration, pointed at the emulator.

use std::collections::BTreeMap;

use calsync::account::GoogleAccounts;
use calsync::config::{GoogleConfig, SyncSettings};
use calsync::crypto::{EncryptionKey, TokenCipher};
use calsync::db::models::google_credential;
use calsync::ids::UserId;
use calsync::inbound::SyncContext;
use calsync::outbound::{Pacer, PushContext};
use gcal_emulator::{Emulator, EmulatorConfig, TestUser};
use uuid::Uuid;

use super::builders::insert_user;
use super::test_db::TestDb;
use super::test_redis::retry_policy;

pub struct GoogleWorld {
    pub emu: Emulator,
    pub db: TestDb,
    pub cipher: TokenCipher,
    /// The key behind `cipher` (for child processes: `TOKEN_ENCRYPTION_KEY`).
    pub key: EncryptionKey,
    pub user_id: UserId,
    pub google_user: TestUser,
    pub ctx: SyncContext,
}

impl GoogleWorld {
    pub async fn start() -> Self {
        Self::start_with(EmulatorConfig::default(), SyncSettings::default()).await
    }

    pub async fn start_with(config: EmulatorConfig, settings: SyncSettings) -> Self {
        let emu = Emulator::start(config.clone()).await.unwrap();
        let db = TestDb::new();
        let key = EncryptionKey::random();
        let cipher = TokenCipher::new(1, key.clone(), BTreeMap::new());
        let mut conn = db.conn();
        let user_id = insert_user(&mut conn);
        let google_user = emu
            .add_user(&format!("user-{}@example.com", Uuid::new_v4().simple()))
            .unwrap();
        google_credential::store_refresh_token(
            &mut conn,
            &cipher,
            user_id,
            &google_user.refresh_token,
            "calendar",
        )
        .unwrap();
        let google_config = GoogleConfig::for_endpoints(
            &emu.urls().api_base,
            &emu.urls().token_url,
            &config.client_id,
            &config.client_secret,
        );
        let google = GoogleAccounts::new(&google_config, db.db(), cipher.clone()).unwrap();
        let ctx = SyncContext {
            db: db.db(),
            google,
            settings,
            retry: retry_policy(),
        };
        Self {
            emu,
            db,
            cipher,
            key,
            user_id,
            google_user,
            ctx,
        }
    }

    /// What the outbound push runs with, against this world (pacing as the worker's default).
    pub fn push_context(&self) -> PushContext {
        PushContext {
            sync: self.ctx.clone(),
            pacer: Pacer::per_minute(Some(540)),
            batch_cases: 100,
            style: Default::default(),
        }
    }

    pub fn calendar(&self) -> &str {
        &self.google_user.calendar_id
    }

    /// Requests the emulator received whose path contains `fragment`, with `method`.
    pub fn count_requests(&self, method: &str, fragment: &str) -> usize {
        self.emu
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(fragment))
            .count()
    }
}

/// Google accounts that cannot reach Google, for tests of the queue and webhook alone (a job
/// for a known channel records the notification, then finds no credentials).
pub fn offline_google(db: &TestDb) -> GoogleAccounts {
    let config = GoogleConfig::for_endpoints(
        "http://127.0.0.1:9/calendar/v3",
        "http://127.0.0.1:9/token",
        "c",
        "s",
    );
    let cipher = TokenCipher::new(1, EncryptionKey::random(), BTreeMap::new());
    GoogleAccounts::new(&config, db.db(), cipher).unwrap()
}
