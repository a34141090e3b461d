//! Group commit for [`RedisQueue::record`]: entries submitted while a call is in flight join
//! the next call, so a storm costs one script call for many notifications.
//!
//! - No added wait: the first entry of a quiet moment is sent at once, alone.
//! - At most [`MAX_IN_FLIGHT`] calls are in flight; what arrives while they all are waits
//!   for the first to return and then goes out as one group (up to [`MAX_GROUP`] entries).
//!   More than one in flight keeps Redis busy during a call's round trip.
//! - Each caller gets its own entry's outcome only once the call that carried it returned,
//!   so an answer means the entry is recorded. A failed call fails every entry of its group.
//! - The call runs in a task of its own: a caller that stops waiting (a timeout) neither
//!   cancels the group's call nor the entries behind it.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use redis::RedisError;
use redis::aio::ConnectionManager;
use tokio::sync::oneshot;

use super::record::Record;
use super::store::{EnqueueOutcome, RedisQueue};

/// Most entries in one script call: Redis runs a script alone, so a call stays short.
pub const MAX_GROUP: usize = 256;

/// Most script calls in flight at once per process.
pub const MAX_IN_FLIGHT: usize = 2;

type Reply = oneshot::Sender<Result<EnqueueOutcome, RedisError>>;

/// Why a submitted entry has no outcome.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The call carrying the entry failed.
    #[error("recording the group failed")]
    Redis(#[from] RedisError),
    /// The task carrying the entry stopped before an answer (the runtime shut down).
    #[error("the group's call was abandoned")]
    Abandoned,
}

/// A group-committing front of one queue; cheap to clone, shared by every HTTP worker.
#[derive(Clone)]
pub struct GroupCommit {
    inner: Arc<Inner>,
}

struct Inner {
    queue: RedisQueue,
    ttl: Duration,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    entries: Vec<(Record, Reply)>,
    /// Flushing tasks running (each has one call in flight, or is about to).
    flushing: usize,
    calls: u64,
}

impl GroupCommit {
    /// Groups entries for `queue`; channel keys live `ttl` (see [`RedisQueue::record`]).
    pub fn new(queue: RedisQueue, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                queue,
                ttl,
                pending: Mutex::new(Pending::default()),
            }),
        }
    }

    /// A group commit of its own for the same queue over `conn`: `serve` gives each HTTP
    /// worker thread one, so a thread's requests, its group's call and the connection's
    /// I/O all run on that thread.
    pub fn on_connection(&self, conn: ConnectionManager) -> Self {
        Self::new(self.inner.queue.with_connection(conn), self.inner.ttl)
    }

    /// Records `entry` with whatever else is waiting, and returns its outcome once recorded.
    pub async fn submit(&self, entry: Record) -> Result<EnqueueOutcome, GroupError> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut p = self.inner.lock();
            p.entries.push((entry, tx));
            let start = p.flushing < MAX_IN_FLIGHT;
            if start {
                p.flushing += 1;
            }
            start
        };
        if start {
            // The guard moves into the task: if the task is dropped, even unpolled, it is
            // no longer counted and, were it the last, the waiting entries are failed,
            // never left hanging.
            let guard = Flushing(self.inner.clone(), false);
            tokio::spawn(async move { guard.run().await });
        }
        match rx.await {
            Ok(result) => Ok(result?),
            Err(_) => Err(GroupError::Abandoned),
        }
    }

    /// Script calls made so far (tests check that a burst was grouped).
    pub fn calls(&self) -> u64 {
        self.inner.lock().calls
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock cannot leave `Pending` half-updated (every change
        // is a single push, take or flag), so a poisoned lock is still usable.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A flushing task, while it runs; `done` once it stopped being counted itself.
struct Flushing(Arc<Inner>, bool);

impl Flushing {
    async fn run(mut self) {
        loop {
            let group = {
                let mut p = self.0.lock();
                if p.entries.is_empty() {
                    p.flushing -= 1;
                    self.1 = true;
                    return;
                }
                let n = p.entries.len().min(MAX_GROUP);
                p.calls += 1;
                p.entries.drain(..n).collect::<Vec<_>>()
            };
            let (records, replies): (Vec<Record>, Vec<Reply>) = group.into_iter().unzip();
            match self.0.queue.record(&records, self.0.ttl).await {
                Ok(outcomes) => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}

impl Drop for Flushing {
    fn drop(&mut self) {
        if self.1 {
            return;
        }
        let mut p = self.0.lock();
        p.flushing = p.flushing.saturating_sub(1);
        if p.flushing == 0 {
            // Dropped before the queue was empty, and no other task takes over: fail what
            // waits (their senders drop); the next submit starts a new task.
            p.entries.clear();
        }
    }
}
