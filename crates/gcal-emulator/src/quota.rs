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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides_after_sixty_seconds() {
        let mut quota = Quota::default();
        quota.set_limit(Some(2));
        let t0 = Instant::now();
        assert!(quota.charge("a", 1, t0));
        assert!(quota.charge("a", 1, t0 + Duration::from_secs(30)));
        assert!(!quota.charge("a", 1, t0 + Duration::from_secs(59)));
        assert!(
            quota.charge("b", 1, t0 + Duration::from_secs(59)),
            "per user"
        );
        // The first request left the window; the one at 30 s has not.
        assert!(quota.charge("a", 1, t0 + Duration::from_secs(60)));
        assert!(!quota.charge("a", 1, t0 + Duration::from_secs(61)));
        assert!(
            !quota.charge("a", 3, t0 + Duration::from_secs(120)),
            "cost above the limit"
        );
    }

    #[test]
    fn no_limit_allows_everything() {
        let mut quota = Quota::default();
        assert!((0..10_000).all(|_| quota.charge("a", 3, Instant::now())));
    }
}
