mod backlog;
mod channel_state;
mod crash;
mod pickup;
mod redis_restart;
mod retries;
mod worker;

use calsync::queue::JobFailure;
use calsync::retry::{Classify, Failure, RetryPolicy};
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

/// A handler's failure of a given kind, for the probe jobs.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProbeError(pub &'static str, pub Failure);

impl Classify for ProbeError {
    fn classify(&self) -> Failure {
        self.1
    }
}

/// What a handler returns for `failure` on its `attempt`-th try: the retry policy's
/// decision, as the application's jobs return it.
pub fn fail(
    policy: &RetryPolicy,
    why: &'static str,
    failure: Failure,
    attempt: u32,
) -> Result<(), JobFailure> {
    calsync::jobs::decide(
        policy,
        ProbeError(why, failure),
        attempt,
        "running the probe",
    )
}
