//! The application under test: the real `AppState` (same constructor as `serve`) against a
//! fresh database and a fresh Redis namespace, driven in-process with actix's test service.

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use calsync::channel_token;
use calsync::config::{RedisConfig, WebhookConfig};
use calsync::db::models::NewCalendarChannel;
use calsync::db::models::calendar_channel::{self as store, generate_channel_id};
use calsync::http::AppState;
use calsync::jobs::JobQueue;
use calsync::queue;

use super::builders::insert_user;
use super::test_db::TestDb;
use super::test_redis::TestRedis;
use super::worker::{RunningWorker, WorkerOptions, setup};

pub const SECRET: &str = "test-channel-token-secret-0123456789abcdef";

pub struct TestApp {
    pub db: TestDb,
    pub redis: TestRedis,
    pub state: AppState,
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_webhook(|_| {})
    }

    /// For tests of what the webhook records: no worker takes the jobs, so they stay in
    /// Redis when the test ends (and that is not a failure).
    pub fn ingress_only() -> Self {
        let t = Self::new();
        t.redis.expect_jobs_left();
        t
    }

    /// With the webhook configuration adjusted (secrets, timeouts).
    pub fn with_webhook(f: impl FnOnce(&mut WebhookConfig)) -> Self {
        let db = TestDb::new();
        let redis = TestRedis::new();
        let mut webhook = WebhookConfig::with_secret(SECRET);
        f(&mut webhook);
        let state = state_for(&db, &redis, redis.url(), webhook);
        Self { db, redis, state }
    }

    /// The token calsync gives Google for `channel_id`.
    pub fn token(&self, channel_id: &str) -> String {
        channel_token::derive(&self.state.webhook.channel_token_secret, channel_id)
    }

    /// The application's worker against this app's database and queue, with a Google that
    /// cannot be reached (these tests are about the queue and the webhook).
    pub fn start_worker(&self, concurrency: usize) -> RunningWorker {
        let options = WorkerOptions {
            concurrency,
            ..WorkerOptions::default()
        };
        RunningWorker::start(setup(
            &self.db,
            &self.redis,
            super::google::offline_google(&self.db),
            &options,
        ))
    }

    /// Inserts a channel row for a new user; returns its channel id.
    pub fn insert_channel(&self) -> String {
        let mut conn = self.db.conn();
        let user = insert_user(&mut conn);
        let id = generate_channel_id();
        store::upsert(
            &mut conn,
            &NewCalendarChannel {
                user_id: user,
                calendar_id: "primary",
                channel_id: &id,
                resource_id: "res-1",
                resource_uri: None,
                sync_token: None,
                expiration_timestamp: 1_900_000_000_000,
            },
        )
        .unwrap();
        id
    }

    pub fn notification(&self, channel_id: &str, state: &str, number: i64) -> TestRequest {
        notification(channel_id, &self.token(channel_id), state, number)
    }
}

/// An `AppState` whose queue talks to `redis_url` (which may be unreachable on purpose).
pub fn state_for(
    db: &TestDb,
    redis: &TestRedis,
    redis_url: &str,
    webhook: WebhookConfig,
) -> AppState {
    let conn = queue::connect(&RedisConfig::for_url(redis_url)).unwrap();
    AppState::new(db.db(), JobQueue::new(conn, &redis.queue_config()), webhook).unwrap()
}

/// A notification as Google sends it (documented header capitalisation, empty body).
pub fn notification(channel_id: &str, token: &str, state: &str, number: i64) -> TestRequest {
    TestRequest::post()
        .uri("/api/webhooks/google-calendar")
        .insert_header(("X-Goog-Channel-ID", channel_id))
        .insert_header(("X-Goog-Channel-Token", token))
        .insert_header(("X-Goog-Resource-State", state))
        .insert_header(("X-Goog-Message-Number", number.to_string()))
        .insert_header(("X-Goog-Resource-ID", "res-1"))
        .insert_header((
            "X-Goog-Resource-URI",
            "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
        ))
        .insert_header(("Content-Length", "0"))
}

/// Sends `req` and returns the status and body.
pub async fn send<S, B>(app: &S, req: Request) -> (StatusCode, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let body = test::read_body(res).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}
