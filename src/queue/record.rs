//! Recording notifications per channel, many in one script call (`lua/record.lua`).
//!
//! Redis keeps one small hash per channel, whatever the traffic: the highest message number
//! recorded, the job it was recorded into, and the job waiting for the channel. A number at
//! or below the highest is covered by that job (see `docs/queue.md`, "Dedup by the highest
//! number"), so no key per message number is needed.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{RedisError, Script};

use super::store::{EnqueueOutcome, RedisQueue};

static RECORD: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/record.lua")));

/// One entry of a [`RedisQueue::record`] call.
#[derive(Debug, Clone)]
pub struct Record {
    /// The coalescing key: a job waiting for it covers this entry.
    pub channel: String,
    /// Google's `X-Goog-Message-Number`, or 0 for a sync no notification caused (never a
    /// duplicate, and it leaves the highest number alone).
    pub message_number: i64,
    /// The job to store if none is waiting for the channel.
    pub payload: String,
}

impl RedisQueue {
    /// Records `entries` in one atomic step and returns each one's outcome, in order. A
    /// channel's key lives `ttl` after it last got a new job (Google's channel lifetime is
    /// the natural choice: a channel renews under a new id).
    pub async fn record(
        &self,
        entries: &[Record],
        ttl: Duration,
    ) -> Result<Vec<EnqueueOutcome>, RedisError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = RECORD.prepare_invoke();
        invocation
            .key(&self.keys.data)
            .key(&self.keys.ready)
            .key(&self.keys.stats)
            .key(&self.keys.channel_of)
            .arg(ttl.as_millis().max(1).to_string());
        for e in entries {
            invocation
                .key(self.channel_key(&e.channel))
                .arg(e.message_number.max(0))
                .arg(job_id())
                .arg(&e.payload)
                .arg(&e.channel);
        }
        let flat: Vec<String> = invocation.invoke_async(&mut self.conn.clone()).await?;
        let outcomes: Vec<EnqueueOutcome> = flat
            .chunks(2)
            .map(|pair| match pair {
                [code, job_id] if code == "a" => EnqueueOutcome::Accepted {
                    job_id: job_id.clone(),
                },
                [code, job_id] if code == "c" => EnqueueOutcome::Coalesced {
                    job_id: job_id.clone(),
                },
                _ => EnqueueOutcome::Duplicate,
            })
            .collect();
        if outcomes.len() != entries.len() {
            return Err(RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "record script answered for a different number of entries",
            )));
        }
        Ok(outcomes)
    }

    /// The key of `channel`'s state hash (`lua/lease.lua` builds the same from the prefix).
    pub fn channel_key(&self, channel: &str) -> String {
        format!("{}chan:{channel}", self.keys.prefix)
    }
}

/// A fresh job id: 64 random bits in hex, unique enough among the jobs of one queue and
/// short, since each waiting job's id is stored five times.
fn job_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}
