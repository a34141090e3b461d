//! The mass-dismissal breaker: a full sync that finds most of a calendar's linked deadlines
//! gone at once (an outage, a wrong account, a wiped calendar) dismisses none and holds the
//! channel until an operator confirms the dismissals or pushes the events again.

use calsync::channels::{Resolution, WatchTarget, release_hold, watch_calendar};
use calsync::db::models::calendar_channel::{self as channels, ChannelStatus};
use calsync::db::models::case_event_link as links;
use calsync::domain::DeadlineKind;
use calsync::inbound::{SyncOutcome, SyncReport, sync_channel};
use calsync::outbound::{PushOutcome, push_user};

use crate::helpers::calendar_fixtures::{LinkedDeadline, linked_deadline};
use crate::helpers::dates::day;
use crate::helpers::google::GoogleWorld;

async fn world_with(n: usize) -> (GoogleWorld, Vec<LinkedDeadline>, String) {
    let w = GoogleWorld::start().await;
    let deadlines: Vec<_> = (0..n)
        .map(|_| linked_deadline(&w, DeadlineKind::RfeDue, day(4, 1)))
        .collect();
    let target = WatchTarget {
        address: "http://127.0.0.1:9/api/webhooks/google-calendar".into(),
        ttl: None,
    };
    let (channel, _) = watch_calendar(&w.ctx, w.user_id, w.calendar(), &target, |id| {
        format!("t-{id}")
    })
    .await
    .unwrap();
    // The first sync left the fixtures in place; the push the watch queued finds them right.
    assert!(matches!(
        push_user(&w.push_context(), w.user_id).await.unwrap(),
        PushOutcome::Pushed(_)
    ));
    (w, deadlines, channel.channel_id)
}

/// The calendar loses `gone` of the events, and the next sync is a full one.
fn lose_events(w: &GoogleWorld, deadlines: &[LinkedDeadline], gone: usize) {
    for d in &deadlines[..gone] {
        w.emu.user_delete_event(w.calendar(), &d.event_id).unwrap();
    }
    w.emu.invalidate_sync_tokens(w.calendar()).unwrap();
}

async fn full_sync(w: &GoogleWorld, channel_id: &str) -> SyncReport {
    match sync_channel(&w.ctx, channel_id).await.unwrap() {
        SyncOutcome::Synced(report) => {
            assert!(report.full);
            report
        }
        other => panic!("expected a sync, got {other:?}"),
    }
}

fn dismissed(w: &GoogleWorld, deadlines: &[LinkedDeadline]) -> usize {
    let mut conn = w.db.conn();
    deadlines
        .iter()
        .filter(|d| {
            links::find_for_deadline(&mut conn, d.case_id, d.kind, w.calendar())
                .unwrap()
                .unwrap()
                .dismissed
        })
        .count()
}

fn status(w: &GoogleWorld, channel_id: &str) -> ChannelStatus {
    channels::find_by_channel_id(&mut w.db.conn(), channel_id)
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn a_full_sync_that_finds_most_deadlines_gone_dismisses_none_and_holds_the_channel() {
    let (w, deadlines, channel_id) = world_with(6).await;
    lose_events(&w, &deadlines, 6);
    let report = full_sync(&w, &channel_id).await;
    assert!(
        report
            .held
            .as_deref()
            .unwrap()
            .contains("6 of the calendar's 6"),
        "{report:?}"
    );
    assert_eq!(dismissed(&w, &deadlines), 0);
    assert_eq!(status(&w, &channel_id), ChannelStatus::Held);
    assert_eq!(channels::count_held(&mut w.db.conn()).unwrap(), 1);
    // Nothing syncs or pushes for the calendar while it is held.
    assert!(matches!(
        sync_channel(&w.ctx, &channel_id).await.unwrap(),
        SyncOutcome::Inactive(ChannelStatus::Held)
    ));
    assert_eq!(
        push_user(&w.push_context(), w.user_id).await.unwrap(),
        PushOutcome::Deferred
    );
}

#[tokio::test]
async fn a_few_deletions_are_dismissed_as_usual() {
    let (w, deadlines, channel_id) = world_with(6).await;
    lose_events(&w, &deadlines, 2);
    let report = full_sync(&w, &channel_id).await;
    assert_eq!(report.held, None);
    assert_eq!(dismissed(&w, &deadlines), 2);
    assert_eq!(status(&w, &channel_id), ChannelStatus::Active);
}

#[tokio::test]
async fn an_operator_confirming_the_deletions_dismisses_them_once() {
    let (w, deadlines, channel_id) = world_with(6).await;
    lose_events(&w, &deadlines, 5);
    assert!(full_sync(&w, &channel_id).await.held.is_some());
    let outcome = release_hold(&w.ctx, &channel_id, Resolution::Dismiss)
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        SyncOutcome::Synced(SyncReport { held: None, .. })
    ));
    assert_eq!(dismissed(&w, &deadlines), 5);
    assert_eq!(status(&w, &channel_id), ChannelStatus::Active);
}

#[tokio::test]
async fn an_operator_repushing_puts_the_missing_events_back() {
    let (w, deadlines, channel_id) = world_with(5).await;
    lose_events(&w, &deadlines, 5);
    assert!(full_sync(&w, &channel_id).await.held.is_some());
    let outcome = release_hold(&w.ctx, &channel_id, Resolution::Repush)
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        SyncOutcome::Synced(SyncReport { held: None, .. })
    ));
    assert_eq!(status(&w, &channel_id), ChannelStatus::Active);
    assert!(matches!(
        push_user(&w.push_context(), w.user_id).await.unwrap(),
        PushOutcome::Pushed(_)
    ));
    let live: Vec<_> = w
        .emu
        .events(w.calendar())
        .into_iter()
        .filter(|e| e["status"] != "cancelled")
        .collect();
    assert_eq!(live.len(), 5, "every deadline is back on the calendar");
    assert_eq!(dismissed(&w, &deadlines), 0);
    // And the next full sync is content.
    w.emu.invalidate_sync_tokens(w.calendar()).unwrap();
    assert_eq!(full_sync(&w, &channel_id).await.held, None);
}
