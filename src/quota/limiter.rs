//! The shared limiter: the two scripts, the keys, and the waiting.

use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

use super::lane::{Lane, current};
use crate::google::RateScope;
use crate::ids::UserId;

/// The budgets. `None` does not limit that scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaSettings {
    /// Quota units per user per minute (default 540: 90% of Google's 600).
    pub user_per_minute: Option<u32>,
    /// Requests per project per minute (default 9,000 of Google's 10,000).
    pub project_per_minute: Option<u32>,
    /// Requests per project per (UTC) day; off by default.
    pub project_per_day: Option<u64>,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self {
            user_per_minute: Some(540),
            project_per_minute: Some(9000),
            project_per_day: None,
        }
    }
}

/// Units of Google's quota a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// list, get, insert, delete, watch, stop.
    Call,
    /// events.patch counts three units.
    Patch,
}

impl Cost {
    pub const fn units(self) -> u32 {
        match self {
            Self::Call => 1,
            Self::Patch => 3,
        }
    }
}

/// The longest single sleep while waiting: the verdict is asked again after it.
const MAX_STEP: Duration = Duration::from_secs(1);

/// A handle on the shared quota; cheap to clone.
#[derive(Clone)]
pub struct Quota {
    conn: ConnectionManager,
    prefix: Arc<str>,
    settings: QuotaSettings,
    acquire: Arc<Script>,
    shrink: Arc<Script>,
}

impl Quota {
    /// The quota of the fleet whose keys live under `<namespace>:quota:`.
    pub fn new(conn: ConnectionManager, namespace: &str, settings: QuotaSettings) -> Self {
        Self {
            conn,
            prefix: format!("{namespace}:quota:").into(),
            settings,
            acquire: Arc::new(Script::new(include_str!("acquire.lua"))),
            shrink: Arc::new(Script::new(include_str!("shrink.lua"))),
        }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// The hash of counters behind the quota metrics (`units:<lane>`, `waits:<lane>`,
    /// `wait_ms:<lane>`, `refused:<lane>`, `missed_changes`).
    pub fn stats_key(namespace: &str) -> String {
        format!("{namespace}:quota:stats")
    }

    /// Waits until `user` may send a request of `cost` in the current lane, and charges it.
    pub async fn acquire(&self, user: UserId, cost: Cost) {
        let lane = current();
        let started = tokio::time::Instant::now();
        let mut waited = false;
        loop {
            match self.try_acquire(user, cost, lane).await {
                Ok(0) => break,
                Ok(wait_ms) => {
                    if !waited {
                        // Counted when the wait begins, so a long wait shows at once.
                        self.count(format!("waits:{}", lane.as_str()), 1).await;
                    }
                    waited = true;
                    let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(1000));
                    tokio::time::sleep(wait.min(MAX_STEP)).await;
                }
                Err(e) => {
                    log::debug!("quota not consulted (Redis: {e}); the request goes ahead");
                    break;
                }
            }
        }
        if waited {
            let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.count(format!("wait_ms:{}", lane.as_str()), ms).await;
        }
    }

    /// How long a request of `cost` for `user` in the current lane would wait now, charging
    /// nothing (zero: there is room; also when Redis cannot be asked). A job that would only
    /// wait holding its worker's slot asks first, and hands itself back to the queue instead.
    pub async fn room(&self, user: UserId, cost: Cost) -> Duration {
        match self.ask(user, cost, current(), true).await {
            Ok(ms) => Duration::from_millis(u64::try_from(ms).unwrap_or(0)),
            Err(_) => Duration::ZERO,
        }
    }

    async fn try_acquire(&self, user: UserId, cost: Cost, lane: Lane) -> redis::RedisResult<i64> {
        self.ask(user, cost, lane, false).await
    }

    async fn ask(
        &self,
        user: UserId,
        cost: Cost,
        lane: Lane,
        only_ask: bool,
    ) -> redis::RedisResult<i64> {
        let s = self.settings;
        let now = chrono::Utc::now();
        let day = now.timestamp().div_euclid(86_400);
        let left_today_ms = 86_400_000 - now.timestamp_millis().rem_euclid(86_400_000);
        self.acquire
            .key(self.key(&format!("w:u:{user}")))
            .key(self.key("w:p"))
            .key(self.key(&format!("b:u:{user}")))
            .key(self.key("b:p"))
            .key(self.key(&format!("q:u:{user}")))
            .key(self.key("q:p"))
            .key(self.key(&format!("day:{day}")))
            .key(self.key("stats"))
            .arg(cost.units())
            .arg(lane.rank())
            .arg(lane.as_str())
            .arg(s.user_per_minute.unwrap_or(0))
            .arg(s.project_per_minute.unwrap_or(0))
            .arg(s.project_per_day.unwrap_or(0))
            .arg(left_today_ms.min(60_000))
            .arg(if only_ask { "1" } else { "0" })
            .invoke_async(&mut self.conn.clone())
            .await
    }

    /// Google refused a request of `user` for its rate limit: shrinks the budget `scope`
    /// names (the user's always, the project's too when Google said it was the project's).
    pub async fn refused(&self, user: UserId, scope: RateScope) {
        let lane = current();
        let mut keys = vec![self.key(&format!("b:u:{user}"))];
        if scope == RateScope::Project {
            keys.push(self.key("b:p"));
        }
        for key in keys {
            let shrunk: redis::RedisResult<String> = self
                .shrink
                .key(key)
                .key(self.key("stats"))
                .arg(lane.as_str())
                .invoke_async(&mut self.conn.clone())
                .await;
            match shrunk {
                Ok(f) => log::info!(
                    "Google rate-limited a {} request of user {user}: budget at {f} for now",
                    lane.as_str()
                ),
                Err(e) => log::debug!("could not shrink the quota (Redis: {e})"),
            }
        }
    }

    async fn count(&self, field: String, by: u64) {
        let result: redis::RedisResult<()> = redis::cmd("HINCRBY")
            .arg(self.key("stats"))
            .arg(field)
            .arg(by)
            .query_async(&mut self.conn.clone())
            .await;
        if let Err(e) = result {
            log::debug!("could not count a quota wait (Redis: {e})");
        }
    }

    /// Counts a backstop poll that found changes no notification announced
    /// (`calsync_channel_missed_changes_total`).
    pub async fn count_missed_change(&self) {
        self.count("missed_changes".to_owned(), 1).await;
    }
}
