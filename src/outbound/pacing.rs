//! Client-side pacing of the push's Google requests, per user, so a large batch of case
//! changes stays within Google's per-user quota (documented as 600 requests per minute per
//! user) instead of running into 403 `userRateLimitExceeded` and backing off.
//!
//! A sliding window like the quota's own: a request waits until the requests sent for the
//! user in the last minute, plus its cost, fit the budget. Costs follow Google's guide: a
//! patch counts three units, other calls one. The window is kept a second longer than a
//! minute, so a request that reaches Google a little after it was charged is still inside
//! it. One pacer is shared by every push in the process; pushes of different users never
//! wait for each other.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::ids::UserId;

const WINDOW: Duration = Duration::from_secs(61);

/// Per user, the charges still inside the window: when, and how many units.
type Charges = HashMap<UserId, VecDeque<(Instant, u32)>>;

/// Units of Google's quota a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// get, insert, delete.
    Call,
    /// events.patch counts three units.
    Patch,
}

impl Cost {
    const fn units(self) -> u32 {
        match self {
            Self::Call => 1,
            Self::Patch => 3,
        }
    }
}

/// Per-user budget of quota units per minute; `None` does not pace.
#[derive(Clone, Default)]
pub struct Pacer {
    budget: Option<u32>,
    sent: Arc<Mutex<Charges>>,
}

impl Pacer {
    pub fn per_minute(budget: Option<u32>) -> Self {
        Self {
            budget: budget.filter(|b| *b > 0),
            sent: Arc::default(),
        }
    }

    /// Waits until `user` may send a request of `cost`, and charges it.
    pub async fn acquire(&self, user: UserId, cost: Cost) {
        let Some(budget) = self.budget else {
            return;
        };
        let units = cost.units().min(budget);
        loop {
            match self.try_charge(user, units, budget, Instant::now()) {
                None => return,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Charges and returns `None`, or says how long to wait before trying again.
    fn try_charge(&self, user: UserId, units: u32, budget: u32, now: Instant) -> Option<Duration> {
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let log = sent.entry(user).or_default();
        while log
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= WINDOW)
        {
            log.pop_front();
        }
        let used: u32 = log.iter().map(|(_, u)| u).sum();
        if used + units <= budget {
            log.push_back((now, units));
            return None;
        }
        // Wait until enough of the oldest charges have left the window.
        let mut freed = 0;
        for (at, u) in log.iter() {
            freed += u;
            if used - freed + units <= budget {
                return Some(
                    (*at + WINDOW)
                        .saturating_duration_since(now)
                        .max(Duration::from_millis(1)),
                );
            }
        }
        Some(WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_budget_per_window_then_waits_for_the_oldest() {
        let pacer = Pacer::per_minute(Some(5));
        let (user, other, t0) = (UserId::new_random(), UserId::new_random(), Instant::now());
        assert_eq!(pacer.try_charge(user, 3, 5, t0), None);
        assert_eq!(pacer.try_charge(user, 1, 5, t0), None);
        assert_eq!(
            pacer.try_charge(user, 1, 5, t0 + Duration::from_secs(10)),
            None
        );
        let wait = pacer.try_charge(user, 3, 5, t0 + Duration::from_secs(20));
        assert_eq!(
            wait,
            Some(WINDOW - Duration::from_secs(20)),
            "the 3-unit charge must expire"
        );
        assert_eq!(
            pacer.try_charge(other, 5, 5, t0),
            None,
            "users do not share a budget"
        );
        assert_eq!(pacer.try_charge(user, 3, 5, t0 + WINDOW), None);
    }

    #[tokio::test]
    async fn no_budget_never_waits() {
        let pacer = Pacer::per_minute(None);
        for _ in 0..10_000 {
            pacer.acquire(UserId(uuid::Uuid::nil()), Cost::Patch).await;
        }
    }
}
