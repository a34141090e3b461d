//! The shared quota's rules, against Redis: lanes under a spent budget, and the budget
//! halving after Google's rate limit. Waiting is shown by a request not granted within a
//! short timeout (the window lasts a minute, so "not yet" is certain).

use std::time::Duration;

use calsync::google::RateScope;
use calsync::ids::UserId;
use calsync::quota::{Cost, Lane, Quota, QuotaSettings, in_lane};

use crate::helpers::test_redis::TestRedis;

fn quota(redis: &TestRedis, user_per_minute: u32) -> Quota {
    Quota::new(
        redis.conn(),
        redis.namespace(),
        QuotaSettings {
            user_per_minute: Some(user_per_minute),
            project_per_minute: None,
            project_per_day: None,
        },
    )
}

/// Whether `lane` gets a request of `cost` for `user` within `within`.
async fn within(q: &Quota, user: UserId, lane: Lane, cost: Cost, within: Duration) -> bool {
    in_lane(lane, tokio::time::timeout(within, q.acquire(user, cost)))
        .await
        .is_ok()
}

/// Granted without waiting for the window (generous: the machine may be busy).
async fn granted(q: &Quota, user: UserId, lane: Lane, cost: Cost) -> bool {
    within(q, user, lane, cost, Duration::from_secs(5)).await
}

/// Made to wait: not granted within 300 ms (the window it waits for lasts a minute).
async fn waits(q: &Quota, user: UserId, lane: Lane, cost: Cost) -> bool {
    !within(q, user, lane, cost, Duration::from_millis(300)).await
}

#[tokio::test]
async fn lower_lanes_wait_first_when_a_budget_runs_low() {
    let redis = TestRedis::new();
    let q = quota(&redis, 10);
    let user = UserId::new_random();
    // Backstop polls may use 70% of the budget, then wait.
    for _ in 0..7 {
        assert!(granted(&q, user, Lane::Backstop, Cost::Call).await);
    }
    assert!(waits(&q, user, Lane::Backstop, Cost::Call).await);
    // Pushes may go to 90% (a patch counts three: 7 + 3 > 9 waits, a call fits).
    assert!(waits(&q, user, Lane::Push, Cost::Patch).await);
    // Notification syncs get the rest of the budget (the push above is still waiting, so
    // lanes under it wait too).
    assert!(granted(&q, user, Lane::Notification, Cost::Call).await);
    assert!(granted(&q, user, Lane::Notification, Cost::Call).await);
    assert!(waits(&q, user, Lane::Renewal, Cost::Call).await);
    // Another user's budget is their own.
    assert!(granted(&q, UserId::new_random(), Lane::Backstop, Cost::Call).await);
}

#[tokio::test]
async fn a_rate_limit_from_google_halves_the_budget() {
    let redis = TestRedis::new();
    let q = quota(&redis, 10);
    let user = UserId::new_random();
    q.refused(user, RateScope::User).await;
    for _ in 0..5 {
        assert!(granted(&q, user, Lane::Notification, Cost::Call).await);
    }
    assert!(
        waits(&q, user, Lane::Notification, Cost::Call).await,
        "half the budget is spent"
    );
    assert!(
        granted(&q, UserId::new_random(), Lane::Notification, Cost::Call).await,
        "a user's refusal shrinks only that user's budget"
    );
}

#[tokio::test]
async fn a_spent_daily_budget_makes_every_lane_wait() {
    let redis = TestRedis::new();
    let q = Quota::new(
        redis.conn(),
        redis.namespace(),
        QuotaSettings {
            user_per_minute: None,
            project_per_minute: None,
            project_per_day: Some(3),
        },
    );
    for _ in 0..3 {
        assert!(granted(&q, UserId::new_random(), Lane::Notification, Cost::Call).await);
    }
    assert!(waits(&q, UserId::new_random(), Lane::Notification, Cost::Call).await);
}
