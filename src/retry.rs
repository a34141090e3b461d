//! The one retry policy. Every failure calsync meets (a Google answer, the database or Redis
//! away, a channel another worker holds, a revoked grant) is first classified as a
//! [`Failure`] by the error type that carries it ([`Classify`]); the policy then turns it
//! into a [`Decision`] for the kind of [`Work`] that failed. The inbound sync, the outbound
//! push, channel renewal and the job queue all ask here: nothing else computes a backoff or
//! reads `Retry-After`.
//!
//! | failure | a request inside a run | a queued job | a case in the outbox | a renewal pass |
//! |---|---|---|---|---|
//! | transient | retry now, a few times | requeue, backoff | requeue, backoff | next pass |
//! | rate limited | retry now if short | requeue, Retry-After or backoff | same | next pass |
//! | busy (another worker holds the channel) | escalate | defer, no attempt used | defer, no attempt used | next pass |
//! | needs the user or an operator | escalate | park | park | park |
//! | permanent | escalate | drop (dead set) | requeue at the cap: never lost | next pass |
//!
//! A queued job that has used `max_attempts` is dropped to the dead set whatever failed.
//! Backoff is exponential with full jitter and capped; `Retry-After` is honoured but
//! clamped to `retry_after_cap` (a year-long `Retry-After` must not park work for a year).

use std::time::Duration;

use rand::Rng;

/// What kind of failure, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Worth trying again soon: a 5xx, a timeout, a dropped connection, the database or
    /// Redis away, a lease lost to a slow run.
    Transient,
    /// Google asked to slow down, saying for how long when it did.
    RateLimited { retry_after: Option<Duration> },
    /// Another worker holds what this needs (the channel's lease): not a failure of the work.
    Busy,
    /// Cannot succeed until the user or an operator acts.
    NeedsAction(Parked),
    /// Will fail the same way every time it is tried as it is.
    Permanent,
}

/// Why work is parked until someone acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parked {
    /// The user's Google grant was revoked or expired: they must reconnect.
    GrantRevoked,
    /// The user has no Google credentials stored.
    NoCredentials,
    /// The calendar no longer exists at Google.
    CalendarGone,
}

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try the same request again within this run, after the delay.
    RetryNow(Duration),
    /// Hand the work back to be tried again after the delay, counting an attempt.
    Requeue(Duration),
    /// Hand the work back to be tried again after the delay without counting an attempt:
    /// nothing failed, it only had to wait its turn.
    Defer(Duration),
    /// Stop until the user or an operator acts; the reason is recorded on the rows.
    Park(Parked),
    /// Give up on this work, with a log line (a queued job goes to the dead set).
    Drop,
}

/// The kinds of work the policy decides for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// One queued job (its attempt counted by the queue).
    Job,
    /// One case's outbox rows (their attempts counted on the rows). The outbox is the only
    /// record of a tracker change, so its work is never dropped.
    OutboxCase,
    /// One channel of a renewal pass; the next pass is the retry.
    Renewal,
}

/// Errors that know what kind of failure they are.
pub trait Classify {
    fn classify(&self) -> Failure;
}

/// The policy's numbers. Built once per process from configuration (`config::RetryConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First step of the backoff between attempts of queued work (`JOB_BACKOFF_BASE_MS`).
    pub base: Duration,
    /// Longest backoff between attempts of queued work (`JOB_BACKOFF_MAX_MS`).
    pub cap: Duration,
    /// Attempts of a queued job, first run and crash redeliveries included, before it is
    /// dropped to the dead set (`JOB_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// Tries of one request inside a run (`SYNC_REQUEST_ATTEMPTS`).
    pub in_run_attempts: u32,
    /// First step of the backoff between those tries.
    pub in_run_base: Duration,
    /// Longest wait inside a run; longer waits end the run and leave it to the queue.
    pub in_run_max_wait: Duration,
    /// Longest `Retry-After` honoured (`RETRY_AFTER_MAX_SECS`).
    pub retry_after_cap: Duration,
    /// How long work waits when it only had to wait its turn (a busy channel).
    pub defer: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
            max_attempts: 8,
            in_run_attempts: 3,
            in_run_base: Duration::from_millis(250),
            in_run_max_wait: Duration::from_secs(10),
            retry_after_cap: Duration::from_secs(3600),
            defer: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// A request inside a run failed on its `attempt`-th try (1 = the first). Returns
    /// `Some(delay)` to try it again now, after the delay; `None` to end the run with the
    /// error (whoever runs the work then asks [`RetryPolicy::decide`]).
    pub fn in_run(&self, failure: Failure, attempt: u32) -> Option<Duration> {
        if attempt >= self.in_run_attempts {
            return None;
        }
        let wait = match failure {
            Failure::Transient => backoff(self.in_run_base, self.in_run_max_wait, attempt),
            Failure::RateLimited { retry_after } => retry_after.map_or_else(
                || backoff(self.in_run_base, self.in_run_max_wait, attempt),
                |d| self.clamp_retry_after(d),
            ),
            Failure::Busy | Failure::NeedsAction(_) | Failure::Permanent => return None,
        };
        (wait <= self.in_run_max_wait).then_some(wait)
    }

    /// What to do with `work` that failed with `failure` on its `attempt`-th try (1 = the
    /// first; for a job, the queue's count).
    pub fn decide(&self, work: Work, failure: Failure, attempt: u32) -> Decision {
        let later = || match failure {
            Failure::RateLimited {
                retry_after: Some(d),
            } => self.clamp_retry_after(d).max(self.backoff(attempt)),
            _ => self.backoff(attempt),
        };
        match (work, failure) {
            (_, Failure::NeedsAction(why)) => Decision::Park(why),
            (Work::Renewal, _) => Decision::Drop,
            (_, Failure::Busy) => Decision::Defer(jitter(self.defer)),
            (Work::Job, _) if attempt >= self.max_attempts => Decision::Drop,
            (Work::Job, Failure::Permanent) => Decision::Drop,
            (Work::OutboxCase, Failure::Permanent) => Decision::Requeue(self.cap),
            (_, Failure::Transient | Failure::RateLimited { .. }) => Decision::Requeue(later()),
        }
    }

    /// The backoff before attempt `attempt + 1` of queued work.
    pub fn backoff(&self, attempt: u32) -> Duration {
        backoff(self.base, self.cap, attempt)
    }

    /// `Retry-After`, honoured up to `retry_after_cap`.
    pub fn clamp_retry_after(&self, asked: Duration) -> Duration {
        asked.min(self.retry_after_cap)
    }
}

/// Exponential backoff with full jitter: a delay drawn uniformly from
/// `[0, min(cap, base · 2^(attempt − 1))]`, so a burst of failures does not retry in lockstep.
pub fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(cap);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// `d` varied by ±50%, so deferred work does not come back all at once.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(rand::rng().random_range(0.5..1.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn backoff_stays_under_its_exponential_ceiling_and_the_cap() {
        let cap = Duration::from_secs(300);
        for attempt in 1..40 {
            let ceiling = SECOND.saturating_mul(1 << (attempt - 1).min(20)).min(cap);
            for _ in 0..20 {
                assert!(
                    backoff(SECOND, cap, attempt) <= ceiling,
                    "attempt {attempt}"
                );
            }
        }
    }

    #[test]
    fn retry_after_is_honoured_but_clamped() {
        let p = RetryPolicy::default();
        let ten_years = Duration::from_secs(10 * 365 * 86_400);
        let limited = Failure::RateLimited {
            retry_after: Some(ten_years),
        };
        assert_eq!(
            p.decide(Work::OutboxCase, limited, 1),
            Decision::Requeue(p.retry_after_cap)
        );
        assert_eq!(
            p.decide(Work::Job, limited, 1),
            Decision::Requeue(p.retry_after_cap)
        );
        let seven = Failure::RateLimited {
            retry_after: Some(7 * SECOND),
        };
        assert_eq!(p.in_run(seven, 1), Some(7 * SECOND));
        assert_eq!(p.in_run(limited, 1), None, "longer than a run may wait");
    }

    #[test]
    fn in_run_retries_only_transient_failures_a_few_times() {
        let p = RetryPolicy::default();
        assert!(p.in_run(Failure::Transient, 1).is_some());
        assert!(p.in_run(Failure::Transient, p.in_run_attempts).is_none());
        for f in [
            Failure::Busy,
            Failure::Permanent,
            Failure::NeedsAction(Parked::GrantRevoked),
        ] {
            assert_eq!(p.in_run(f, 1), None);
        }
    }

    #[test]
    fn decisions_per_kind_of_work() {
        let p = RetryPolicy::default();
        let gone = Failure::NeedsAction(Parked::CalendarGone);
        for work in [Work::Job, Work::OutboxCase, Work::Renewal] {
            assert_eq!(
                p.decide(work, gone, 1),
                Decision::Park(Parked::CalendarGone)
            );
        }
        assert_eq!(p.decide(Work::Job, Failure::Permanent, 1), Decision::Drop);
        assert_eq!(
            p.decide(Work::OutboxCase, Failure::Permanent, 1),
            Decision::Requeue(p.cap),
            "a tracker change is never dropped"
        );
        assert!(matches!(
            p.decide(Work::Job, Failure::Transient, 1),
            Decision::Requeue(_)
        ));
        assert_eq!(
            p.decide(Work::Job, Failure::Transient, p.max_attempts),
            Decision::Drop
        );
        assert!(matches!(
            p.decide(Work::Job, Failure::Busy, p.max_attempts),
            Decision::Defer(_)
        ));
        assert_eq!(
            p.decide(Work::Renewal, Failure::Transient, 1),
            Decision::Drop
        );
    }
}
