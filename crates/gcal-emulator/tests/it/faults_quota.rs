//! Injected faults and the per-user quota.

use gcal_emulator::{EmulatorConfig, FaultKind, FaultRule, QuotaResponse};
use reqwest::Method;
use serde_json::json;

use super::support::{USER, refresh, start, start_with, timed};

#[tokio::test]
async fn each_fault_kind_answers_as_google_with_retry_after_then_clears() {
    let h = start().await;
    let cases = [
        (
            FaultKind::Status429,
            429,
            "usageLimits",
            "rateLimitExceeded",
        ),
        (
            FaultKind::RateLimit403,
            403,
            "usageLimits",
            "rateLimitExceeded",
        ),
        (FaultKind::Status500, 500, "global", "backendError"),
        (FaultKind::Status503, 503, "global", "backendError"),
    ];
    for (kind, status, domain, reason) in cases {
        h.emu.inject_fault(FaultRule::new(kind, 2).retry_after(7));
        for _ in 0..2 {
            let res = h.list("").await;
            assert_eq!(res.status, status, "{kind:?}");
            assert_eq!(res.reason(), reason, "{kind:?}");
            assert_eq!(res.body["error"]["errors"][0]["domain"], domain);
            assert_eq!(res.body["error"]["code"], status);
            assert_eq!(res.header("retry-after"), Some("7"));
        }
        assert_eq!(
            h.list("").await.status,
            200,
            "only the next 2 requests fail"
        );
    }
    h.emu.inject_fault(FaultRule::new(FaultKind::Status503, 1));
    let res = h.list("").await;
    assert_eq!(res.status, 503);
    assert_eq!(res.header("retry-after"), None);
}

#[tokio::test]
async fn faults_match_method_and_path_and_hit_the_token_endpoint_too() {
    let h = start().await;
    h.emu.inject_fault(
        FaultRule::new(FaultKind::Status500, 1)
            .method("post")
            .path_contains("/events"),
    );
    assert_eq!(h.list("").await.status, 200, "GET does not match");
    assert_eq!(h.insert(timed("x", 9)).await.status, 500);
    assert_eq!(h.insert(timed("x", 9)).await.status, 200);

    h.emu
        .inject_fault(FaultRule::new(FaultKind::Status503, 1).path_contains("/token"));
    let res = h
        .http
        .post(&h.emu.urls().token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", h.user.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);

    h.emu.inject_fault(FaultRule::new(FaultKind::Status429, 5));
    h.emu.clear_faults();
    assert_eq!(h.list("").await.status, 200);

    let statuses: Vec<u16> = h.emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses[statuses.len() - 5..],
        [200, 500, 200, 503, 200],
        "faults are recorded"
    );
}

#[tokio::test]
async fn per_user_quota_answers_403_user_rate_limit_exceeded() {
    let h = start().await;
    h.emu.set_quota(Some(3));
    for _ in 0..3 {
        assert_eq!(h.list("").await.status, 200);
    }
    let over = h.list("").await;
    assert_eq!(over.status, 403);
    assert_eq!(over.reason(), "userRateLimitExceeded");
    assert_eq!(over.body["error"]["errors"][0]["domain"], "usageLimits");
    assert_eq!(over.body["error"]["message"], "User Rate Limit Exceeded");

    // The quota is per user.
    let other = h.emu.add_user("other@example.com").unwrap();
    let token = refresh(&h.http, &h.emu, &other.refresh_token).await;
    let res = h
        .http
        .get(format!(
            "{}/calendars/primary/events",
            h.emu.urls().api_base
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    h.emu.set_quota(None);
    assert_eq!(h.list("").await.status, 200);
}

#[tokio::test]
async fn patch_costs_three_quota_units() {
    let h = start().await;
    let id = h.emu.user_create_event_json(USER, timed("x", 9)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.emu.set_quota(Some(4));
    let path = format!("/calendars/primary/events/{id}");
    assert_eq!(
        h.call(Method::PATCH, &path, Some(json!({"summary": "y"})))
            .await
            .status,
        200
    );
    assert_eq!(h.get(&path).await.status, 200);
    assert_eq!(h.get(&path).await.status, 403, "3 + 1 units used of 4");
}

#[tokio::test]
async fn quota_can_answer_429_instead() {
    let h = start_with(EmulatorConfig {
        quota_per_user_per_minute: Some(1),
        quota_response: QuotaResponse::RateLimit429,
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(h.list("").await.status, 200);
    let over = h.list("").await;
    assert_eq!((over.status, over.reason()), (429, "rateLimitExceeded"));
}

#[tokio::test]
async fn latency_delays_answers_and_a_write_lands_while_its_caller_still_waits() {
    let h = start().await;
    let delay = std::time::Duration::from_millis(400);
    h.emu.set_api_latency(Some((delay, delay)));
    let started = std::time::Instant::now();
    let (inserted, seen_before_the_answer) = tokio::join!(
        h.insert(json!({
            "summary": "Slow write",
            "start": {"date": "2027-01-05"},
            "end": {"date": "2027-01-06"},
        })),
        async {
            // Past half the delay the write has taken effect, though its answer is not back.
            tokio::time::sleep(delay * 3 / 4).await;
            h.emu.events(USER).len()
        }
    );
    assert_eq!(inserted.status, 200);
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    assert_eq!(seen_before_the_answer, 1);
    h.emu.set_api_latency(None);
    let quick = std::time::Instant::now();
    assert_eq!(h.list("").await.status, 200);
    assert!(quick.elapsed() < delay, "{:?}", quick.elapsed());
}
