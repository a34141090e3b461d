//! What the workers of a fleet coordinate through Redis besides the queues themselves: whose
//! turn it is to run a periodic duty, and the clean-up of old dead jobs.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

static TRIM_DEAD: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/trim_dead.lua")));

/// Dead jobs one clean-up call forgets, at most.
const TRIM_CHUNK: u64 = 500;

/// A fleet's handle on Redis for its periodic duties.
#[derive(Clone)]
pub struct FleetTurns {
    conn: ConnectionManager,
    namespace: String,
    worker: String,
}

impl FleetTurns {
    pub fn new(conn: ConnectionManager, namespace: &str, worker: &str) -> Self {
        Self {
            conn,
            namespace: namespace.to_owned(),
            worker: worker.to_owned(),
        }
    }

    /// Whether this worker has the turn of `duty` for the next `every`: one `SET NX PX`, so
    /// exactly one worker of the fleet gets each interval's turn, however many ask. A worker
    /// that dies during its turn only costs that turn; the next goes to whoever asks.
    pub async fn claim(&self, duty: &str, every: Duration) -> Result<bool, redis::RedisError> {
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("{}:fleet:turn:{duty}", self.namespace))
            .arg(&self.worker)
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(every.as_millis()).unwrap_or(u64::MAX).max(1))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(set.is_some())
    }

    /// Forgets the dead jobs of `queue` that died more than `retention` ago, up to a chunk;
    /// returns how many.
    pub async fn trim_dead(
        &self,
        queue: &str,
        retention: Duration,
    ) -> Result<u64, redis::RedisError> {
        let key = |k: &str| format!("{}:{queue}:{k}", self.namespace);
        TRIM_DEAD
            .key(key("dead"))
            .key(key("data"))
            .key(key("attempts"))
            .key(key("errors"))
            .arg(u64::try_from(retention.as_millis()).unwrap_or(u64::MAX))
            .arg(TRIM_CHUNK)
            .invoke_async(&mut self.conn.clone())
            .await
    }
}
