//! Google's per-user quota ("requests per minute per user per project"), enforced over a
//! sliding 60-second window. Off unless a limit is set. A `patch` costs three units, as
//! Google documents; everything else costs one. Rejected requests are not charged.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

/// Per-user request counters.
#[derive(Debug, Default)]
pub struct Quota {
    limit: Option<u32>,
    spent: HashMap<String, VecDeque<(Instant, u32)>>,
}

impl Quota {
    /// Sets (or with `None` lifts) the per-user limit and forgets past usage.
    pub fn set_limit(&mut self, limit: Option<u32>) {
        self.limit = limit;
        self.spent.clear();
    }

    /// Charges `cost` units to `user`.
    ///
    /// Returns false, charging nothing, when that would exceed the limit.
    pub fn charge(&mut self, user: &str, cost: u32, now: Instant) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        let log = self.spent.entry(user.to_owned()).or_default();
        while log
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= WINDOW)
        {
            log.pop_front();
        }
        let used: u32 = log.iter().map(|(_, c)| c).sum();
        if used + cost > limit {
            return false;
        }
        log.push_back((now, cost));
        true
    }
}
