//! One named queue in Redis: the keys, and one method per Lua script. Untyped: payloads are
//! JSON strings; `JobQueue` and `RedisBackend` put types on top.
//!
//! Keys, all under `<namespace>:<queue>:` (so a test's namespace can be deleted alone):
//! `ready` list of waiting ids (pushed left, leased right: FIFO), `data` hash id → payload,
//! `attempts` hash id → attempts begun, `inflight` zset id → lease deadline (ms),
//! `owner` hash id → worker name, `delayed` zset id → retry time (ms), `dead` zset
//! id → time (ms), `errors` hash id → last error, `coalesce` hash id → marker key,
//! `stats` hash of counters, `marker:<key>` the waiting job per coalescing key,
//! `seen:<key>` dedup keys with a TTL, `chan:<channel>` one hash per channel (highest message
//! number recorded, the job it went to, the waiting job; see `record.rs`), `channel_of` hash
//! id → channel key. Times come from Redis (`TIME`), not from the hosts.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisError, Script};

static ENQUEUE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/enqueue.lua")));
static LEASE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/lease.lua")));
static FINISH: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/finish.lua")));
static RENEW: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/renew.lua")));
static REAP: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/reap.lua")));
static RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/release.lua")));

/// Most delayed retries moved to the ready list by one lease call, and most expired leases
/// reaped by one reap call: Redis runs a script alone, so each call stays short however
/// large the backlog.
pub const CHUNK: usize = 500;

/// What happened to a job handed to [`RedisQueue::enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// A new job is waiting.
    Accepted { job_id: String },
    /// A job with the same coalescing key was already waiting; it covers this one.
    Coalesced { job_id: String },
    /// The dedup key was seen within its TTL; nothing was recorded.
    Duplicate,
}

/// How an attempt ended, as recorded by [`RedisQueue::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Done,
    Retry {
        after: Duration,
    },
    /// Like `Retry`, but the attempt is not counted.
    Defer {
        after: Duration,
    },
    Dead,
}

/// A job leased to one worker.
#[derive(Debug, Clone)]
pub struct Leased {
    pub id: String,
    pub payload: String,
    /// 1 on the first run; redeliveries after a crash count too.
    pub attempt: u32,
}

/// How many jobs are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub ready: u64,
    pub delayed: u64,
    pub inflight: u64,
    pub dead: u64,
}

#[derive(Debug)]
pub(super) struct Keys {
    pub(super) prefix: String,
    pub(super) ready: String,
    pub(super) data: String,
    pub(super) attempts: String,
    pub(super) inflight: String,
    pub(super) owner: String,
    pub(super) delayed: String,
    pub(super) dead: String,
    pub(super) errors: String,
    pub(super) coalesce: String,
    pub(super) stats: String,
    pub(super) channel_of: String,
}

/// A handle to one queue; cheap to clone (the connection is multiplexed).
#[derive(Clone)]
pub struct RedisQueue {
    pub(super) conn: ConnectionManager,
    name: Arc<str>,
    pub(super) keys: Arc<Keys>,
}

impl RedisQueue {
    /// The queue `name` under `namespace`.
    pub fn new(conn: ConnectionManager, namespace: &str, name: &str) -> Self {
        let prefix = format!("{namespace}:{name}:");
        let k = |s: &str| format!("{prefix}{s}");
        let keys = Keys {
            ready: k("ready"),
            data: k("data"),
            attempts: k("attempts"),
            inflight: k("inflight"),
            owner: k("owner"),
            delayed: k("delayed"),
            dead: k("dead"),
            errors: k("errors"),
            coalesce: k("coalesce"),
            stats: k("stats"),
            channel_of: k("channel_of"),
            prefix,
        };
        Self {
            conn,
            name: name.into(),
            keys: Arc::new(keys),
        }
    }

    /// The same queue over another connection (e.g. one per HTTP worker thread, so its
    /// calls need no hop to another thread's connection).
    pub fn with_connection(&self, conn: ConnectionManager) -> Self {
        Self {
            conn,
            name: self.name.clone(),
            keys: self.keys.clone(),
        }
    }

    /// The queue's name (a label in metrics and logs).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Records `payload` under a fresh id, atomically with the optional dedup and coalescing
    /// checks (see `lua/enqueue.lua`).
    pub async fn enqueue(
        &self,
        payload: &str,
        dedup: Option<(&str, Duration)>,
        coalesce_key: Option<&str>,
    ) -> Result<EnqueueOutcome, RedisError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dedup_key = dedup.map_or(String::new(), |(k, _)| {
            format!("{}seen:{k}", self.keys.prefix)
        });
        let ttl_ms = dedup.map_or(0, |(_, ttl)| ttl.as_millis().max(1));
        let marker =
            coalesce_key.map_or(String::new(), |k| format!("{}marker:{k}", self.keys.prefix));
        let (outcome, job_id): (String, String) = ENQUEUE
            .key(&self.keys.data)
            .key(&self.keys.ready)
            .key(&self.keys.stats)
            .key(&self.keys.coalesce)
            .key(dedup_key)
            .key(marker)
            .arg(&id)
            .arg(payload)
            .arg(ttl_ms.to_string())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(match outcome.as_str() {
            "accepted" => EnqueueOutcome::Accepted { job_id },
            "coalesced" => EnqueueOutcome::Coalesced { job_id },
            _ => EnqueueOutcome::Duplicate,
        })
    }

    /// Leases the next ready job to `worker` for `lease`, or `None` when none is ready.
    pub async fn lease(&self, worker: &str, lease: Duration) -> Result<Option<Leased>, RedisError> {
        let got: Option<(String, String, u32)> = LEASE
            .key(&self.keys.ready)
            .key(&self.keys.delayed)
            .key(&self.keys.inflight)
            .key(&self.keys.owner)
            .key(&self.keys.data)
            .key(&self.keys.attempts)
            .key(&self.keys.coalesce)
            .key(&self.keys.channel_of)
            .arg(lease.as_millis().to_string())
            .arg(worker)
            .arg(CHUNK)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(got.map(|(id, payload, attempt)| Leased {
            id,
            payload,
            attempt,
        }))
    }

    /// Records how `worker`'s attempt at `id` ended. Returns `false` when the worker had lost
    /// the lease (nothing changed).
    pub async fn finish(
        &self,
        id: &str,
        worker: &str,
        how: Finish,
        error: &str,
    ) -> Result<bool, RedisError> {
        let (what, delay_ms) = match how {
            Finish::Done => ("done", 0),
            Finish::Retry { after } => ("retry", after.as_millis()),
            Finish::Defer { after } => ("defer", after.as_millis()),
            Finish::Dead => ("dead", 0),
        };
        let applied: i64 = FINISH
            .key(&self.keys.inflight)
            .key(&self.keys.owner)
            .key(&self.keys.data)
            .key(&self.keys.attempts)
            .key(&self.keys.errors)
            .key(&self.keys.delayed)
            .key(&self.keys.dead)
            .key(&self.keys.stats)
            .arg(id)
            .arg(worker)
            .arg(what)
            .arg(delay_ms.to_string())
            .arg(error)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(applied == 1)
    }

    /// Extends `worker`'s leases on `ids`; returns how many it still held.
    pub async fn renew(
        &self,
        worker: &str,
        ids: &[String],
        lease: Duration,
    ) -> Result<u64, RedisError> {
        if ids.is_empty() {
            return Ok(0);
        }
        RENEW
            .key(&self.keys.inflight)
            .key(&self.keys.owner)
            .arg(lease.as_millis().to_string())
            .arg(worker)
            .arg(ids)
            .invoke_async(&mut self.conn.clone())
            .await
    }

    /// Hands every expired lease back to the ready list (or to the dead set after its last
    /// attempt), in chunks; returns how many.
    pub async fn reap_expired(&self, max_attempts: u32) -> Result<u64, RedisError> {
        let mut total = 0;
        loop {
            let n: u64 = REAP
                .key(&self.keys.inflight)
                .key(&self.keys.owner)
                .key(&self.keys.ready)
                .key(&self.keys.attempts)
                .key(&self.keys.errors)
                .key(&self.keys.dead)
                .key(&self.keys.stats)
                .arg(CHUNK)
                .arg(max_attempts)
                .invoke_async(&mut self.conn.clone())
                .await?;
            total += n;
            if n < CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    /// Hands back every job `worker` still holds; returns how many.
    pub async fn release(&self, worker: &str) -> Result<u64, RedisError> {
        RELEASE
            .key(&self.keys.inflight)
            .key(&self.keys.owner)
            .key(&self.keys.ready)
            .key(&self.keys.attempts)
            .key(&self.keys.stats)
            .arg(worker)
            .invoke_async(&mut self.conn.clone())
            .await
    }

    /// Jobs per state.
    pub async fn depth(&self) -> Result<QueueDepth, RedisError> {
        let (ready, delayed, inflight, dead): (u64, u64, u64, u64) = redis::pipe()
            .llen(&self.keys.ready)
            .zcard(&self.keys.delayed)
            .zcard(&self.keys.inflight)
            .zcard(&self.keys.dead)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(QueueDepth {
            ready,
            delayed,
            inflight,
            dead,
        })
    }

    /// The counters kept by the scripts (`enqueued`, `coalesced`, `duplicate`, `processed`,
    /// `retried`, `deferred`, `failed`, `redelivered`, `released`, `lease_lost`), across all processes.
    pub async fn counters(&self) -> Result<BTreeMap<String, u64>, RedisError> {
        redis::cmd("HGETALL")
            .arg(&self.keys.stats)
            .query_async(&mut self.conn.clone())
            .await
    }

    /// The waiting jobs, oldest first, as (id, payload).
    pub async fn ready_jobs(&self) -> Result<Vec<(String, String)>, RedisError> {
        let mut ids: Vec<String> = redis::cmd("LRANGE")
            .arg(&self.keys.ready)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn.clone())
            .await?;
        ids.reverse();
        self.with_payloads(ids).await
    }

    /// The dead jobs, as (id, payload, last error).
    pub async fn dead_jobs(&self) -> Result<Vec<(String, String, String)>, RedisError> {
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(&self.keys.dead)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn.clone())
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, payload) in self.with_payloads(ids).await? {
            let err: Option<String> = redis::cmd("HGET")
                .arg(&self.keys.errors)
                .arg(&id)
                .query_async(&mut self.conn.clone())
                .await?;
            out.push((id, payload, err.unwrap_or_default()));
        }
        Ok(out)
    }

    async fn with_payloads(&self, ids: Vec<String>) -> Result<Vec<(String, String)>, RedisError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let payloads: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&self.keys.data)
            .arg(&ids)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(ids
            .into_iter()
            .zip(payloads)
            .filter_map(|(id, p)| p.map(|p| (id, p)))
            .collect())
    }
}
