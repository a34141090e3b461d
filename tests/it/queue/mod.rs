mod backlog;
mod crash;
mod pickup;
mod redis_restart;
mod retries;
mod worker;

use serde::{Deserialize, Serialize};

/// A job type for queue-behaviour tests (the queue is generic; its rules do not depend on
/// the job).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Probe {
    pub n: u32,
}

pub const PROBE_QUEUE: &str = "probe";

/// Records `n` on the probe queue.
pub async fn push(queue: &calsync::queue::RedisQueue, n: u32) {
    let payload = serde_json::to_string(&Probe { n }).unwrap();
    queue.enqueue(&payload, None, None).await.unwrap();
}
