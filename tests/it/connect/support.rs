//! A calsync with its user API on a real port, the emulator as Google, the application's
//! worker, and a tracker user who has not connected Google yet.

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use calsync::channels::WatchTarget;
use calsync::config::{
    AuthConfig, CalendarMode, ConnectConfig, GoogleConfig, RedisConfig, WebhookConfig,
};
use calsync::connect::ConnectService;
use calsync::http::AppState;
use calsync::ids::UserId;
use calsync::jobs::JobQueue;
use calsync::queue;
use gcal_emulator::{Account, EmulatorConfig};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use super::browser::{Browser, Landing};
use crate::helpers::builders::insert_user;
use crate::helpers::google::GoogleWorld;
use crate::helpers::test_app::SECRET;
use crate::helpers::test_redis::TestRedis;
use crate::helpers::worker::{RunningWorker, WorkerOptions, setup};

pub const JWT_SECRET: &str = "tracker-jwt-secret-0123456789abcdef0123";

// Fields drop in order: the worker before the queue and the database.
pub struct ConnectWorld {
    worker: Option<RunningWorker>,
    server: ServerHandle,
    _redis: TestRedis,
    pub w: GoogleWorld,
    pub base: String,
    pub return_url: String,
    pub user: UserId,
    pub account: Account,
    pub api: reqwest::Client,
}

/// The tracker's web origin, allowed to call the user API from its pages.
pub const TRACKER_ORIGIN: &str = "https://tracker.example.test";

impl ConnectWorld {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut ConnectConfig)) -> Self {
        let w = GoogleWorld::start_with(EmulatorConfig::default(), Default::default()).await;
        let redis = TestRedis::new();
        // The worker is stopped wherever it is when a test ends (a sweep may just have queued
        // a push): what these tests check is what the user and Google see.
        redis.expect_jobs_left();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let redirect_url = format!("{base}/oauth/google/callback");
        w.emu.register_redirect_uri(&redirect_url).unwrap();
        let urls = w.emu.urls().clone();
        let return_url = format!("{base}/healthz");
        let mode = CalendarMode::Dedicated {
            name: "PERM Deadlines".into(),
        };
        let mut config = ConnectConfig {
            public_base_url: base.clone(),
            redirect_url,
            return_url: return_url.clone(),
            revoke_url: urls.revoke_url.clone(),
            userinfo_url: urls.userinfo_url.clone(),
            scopes: mode.default_scopes(),
            mode,
            default_time_zone: "America/Chicago".into(),
        };
        adjust(&mut config);
        let defaults = EmulatorConfig::default();
        let mut google = GoogleConfig::for_endpoints(
            &urls.api_base,
            &urls.token_url,
            &defaults.client_id,
            &defaults.client_secret,
        );
        google.oauth_auth_url = urls.auth_url.clone();
        let svc = ConnectService::new(
            config,
            AuthConfig {
                allowed_origins: vec![TRACKER_ORIGIN.to_owned()],
                ..AuthConfig::with_secret(JWT_SECRET)
            },
            &google,
            w.ctx.clone(),
            w.cipher.clone(),
            WatchTarget {
                address: format!("{base}/api/webhooks/google-calendar"),
                ttl: None,
            },
            SECRET.to_owned().into(),
        )
        .unwrap();
        let conn = queue::connect(&RedisConfig::for_url(redis.url())).unwrap();
        let state = AppState::new(
            w.db.db(),
            JobQueue::new(conn, &redis.queue_config()),
            WebhookConfig::with_secret(SECRET),
        )
        .unwrap()
        .with_connect(svc);
        let server = HttpServer::new(move || calsync::http::app(state.clone()))
            .workers(1)
            .listen(listener)
            .unwrap()
            .run();
        let handle = server.handle();
        tokio::spawn(server);
        let user = insert_user(&mut w.db.conn());
        let account = w
            .emu
            .add_account(&format!(
                "paralegal-{}@example.com",
                Uuid::new_v4().simple()
            ))
            .unwrap();
        w.emu.set_signed_in_user(Some(&account.email)).unwrap();
        let worker = RunningWorker::start(setup(
            &w.db,
            &redis,
            w.ctx.google.clone(),
            &WorkerOptions::default(),
        ));
        Self {
            worker: Some(worker),
            server: handle,
            _redis: redis,
            w,
            base,
            return_url,
            user,
            account,
            api: reqwest::Client::new(),
        }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.return_url)
    }

    /// A valid token of `user` for ten minutes.
    pub fn token_for(&self, user: UserId) -> String {
        let exp = chrono::Utc::now().timestamp() + 600;
        calsync::http::auth::sign(JWT_SECRET, &serde_json::json!({"sub": user, "exp": exp}))
    }

    /// Calls the user API as `self.user`.
    pub async fn call(&self, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
        self.call_with(method, path, Some(&self.token_for(self.user)))
            .await
    }

    pub async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.api.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The one-time connect URL the tracker would hand the browser.
    pub async fn connect_url(&self) -> String {
        let (status, body) = self
            .call(reqwest::Method::POST, "/api/google-calendar/connect")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["url"].as_str().unwrap().to_owned()
    }

    /// Opens a connect URL in `browser` and returns Google's consent page.
    pub async fn to_consent(&self, browser: &mut Browser) -> Landing {
        let url = self.connect_url().await;
        browser.open(&url).await
    }

    /// The whole consent, allowed with every scope: where the browser lands.
    pub async fn connect(&self, browser: &mut Browser) -> Landing {
        let page = self.to_consent(browser).await;
        browser.consent(&page, "allow", &[]).await
    }

    /// The user's calendars at the emulator, primary first.
    pub fn calendars(&self) -> Vec<gcal_emulator::CalendarInfo> {
        self.w.emu.calendars(&self.account.email).unwrap()
    }

    /// The dedicated calendar's id (the first secondary calendar).
    pub fn dedicated_calendar(&self) -> Option<String> {
        self.calendars()
            .into_iter()
            .find(|c| !c.primary)
            .map(|c| c.id)
    }

    pub async fn stop(mut self) {
        if let Some(worker) = self.worker.take() {
            worker.stop().await.unwrap();
        }
        self.server.stop(true).await;
    }
}
