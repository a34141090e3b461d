//! Channels whose notification the webhook could not record (it answered 5xx, e.g. while
//! Redis was down). Google retries a 5xx for a while and then gives up, so `serve` remembers
//! such channels in memory (a bounded set) and, as soon as the queue answers again, hands
//! each over as a sync no notification caused (message number 0, coalesced like the
//! backstop's). A channel is forgotten only once its job is recorded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;

use crate::jobs::JobQueue;
use crate::jobs::process_calendar_changes::ProcessCalendarChanges;
use crate::queue::QueueError;

/// How often `serve` tries to hand remembered channels over.
pub const HAND_OVER_INTERVAL: Duration = Duration::from_secs(1);

/// Channels handed over per group of concurrent enqueues (they share script calls).
const HAND_OVER_GROUP: usize = 256;

/// The remembered channels: channel id → (resource id, generation). The generation tells a
/// channel remembered again during a hand-over from the one that was handed over.
pub struct UnrecordedChannels {
    max: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    channels: HashMap<String, (String, u64)>,
    generation: u64,
    /// Set when a channel was left out because the set was full; cleared when it empties.
    full_warned: bool,
}

impl UnrecordedChannels {
    /// A set of at most `max` channels.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers `channel_id`; `false` when the set is full and the channel was left out
    /// (the backstop still covers it).
    pub fn remember(&self, channel_id: &str, resource_id: &str) -> bool {
        let mut s = self.lock();
        s.generation += 1;
        let generation = s.generation;
        if let Some(entry) = s.channels.get_mut(channel_id) {
            *entry = (resource_id.to_owned(), generation);
            return true;
        }
        if s.channels.len() >= self.max {
            if !std::mem::replace(&mut s.full_warned, true) {
                log::warn!(
                    "{} channels with unrecorded notifications are remembered already; more are left to the backstop",
                    self.max
                );
            }
            return false;
        }
        s.channels
            .insert(channel_id.to_owned(), (resource_id.to_owned(), generation));
        true
    }

    /// How many channels wait to be handed over.
    pub fn len(&self) -> usize {
        self.lock().channels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn snapshot(&self) -> Vec<(String, String, u64)> {
        self.lock()
            .channels
            .iter()
            .map(|(c, (r, g))| (c.clone(), r.clone(), *g))
            .collect()
    }

    /// Forgets `channel_id` unless it was remembered again after `generation`.
    fn forget(&self, channel_id: &str, generation: u64) {
        let mut s = self.lock();
        if s.channels
            .get(channel_id)
            .is_some_and(|(_, g)| *g == generation)
        {
            s.channels.remove(channel_id);
        }
        if s.channels.is_empty() {
            s.full_warned = false;
        }
    }

    /// Enqueues a sync for every remembered channel, forgetting each one recorded; returns
    /// how many were handed over. Stops at the first group Redis fails (the next pass
    /// retries the rest).
    pub async fn hand_over(&self, queue: &JobQueue) -> Result<usize, QueueError> {
        let mut handed = 0;
        for group in self.snapshot().chunks(HAND_OVER_GROUP) {
            let results = join_all(group.iter().map(|(channel_id, resource_id, _)| {
                let job = ProcessCalendarChanges {
                    channel_id: channel_id.clone(),
                    resource_id: resource_id.clone(),
                    message_number: 0,
                    received_at: Utc::now(),
                };
                async move { queue.enqueue_backstop(&job).await }
            }))
            .await;
            let mut failed = None;
            for ((channel_id, _, generation), result) in group.iter().zip(results) {
                match result {
                    Ok(_) => {
                        self.forget(channel_id, *generation);
                        handed += 1;
                    }
                    Err(e) => failed = Some(e),
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(handed)
    }
}

/// Hands the remembered channels over every `interval` while there are any: the first pass
/// after Redis answers again enqueues them. Runs for the life of `serve`.
pub async fn run(
    channels: std::sync::Arc<UnrecordedChannels>,
    queue: JobQueue,
    interval: Duration,
) {
    loop {
        tokio::time::sleep(interval).await;
        if channels.is_empty() {
            continue;
        }
        match channels.hand_over(&queue).await {
            Ok(n) => {
                log::info!("synced {n} channel(s) whose notification could not be recorded earlier")
            }
            Err(e) => log::debug!("unrecorded channels wait for the queue: {e:#}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_bounded_and_a_channel_remembered_again_is_not_forgotten_early() {
        let set = UnrecordedChannels::new(2);
        assert!(set.remember("a", "r"));
        assert!(set.remember("b", "r"));
        assert!(
            set.remember("a", "r"),
            "already remembered: no new room needed"
        );
        assert!(!set.remember("c", "r"), "full");
        assert_eq!(set.len(), 2);
        let (_, _, generation) = set
            .snapshot()
            .into_iter()
            .find(|(c, _, _)| c == "a")
            .unwrap();
        set.remember("a", "r");
        set.forget("a", generation);
        assert_eq!(set.len(), 2, "a failed again after the snapshot: kept");
        set.forget("b", set.snapshot().iter().find(|e| e.0 == "b").unwrap().2);
        assert_eq!(set.len(), 1);
    }
}
