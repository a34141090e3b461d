//! A push that Google refuses for a while: the rows stay, back off, and go through.

use std::time::Duration;

use calsync::domain::DeadlineKind;
use diesel::connection::SimpleConnection;
use gcal_emulator::{FaultKind, FaultRule};

use super::*;
use crate::helpers::pipeline::{Pipeline, PipelineOptions};
use crate::helpers::worker::WorkerOptions;
use calsync::ids::CaseId;

#[tokio::test]
async fn a_rate_limited_case_retries_soon_however_many_cases_the_run_had_pushed() {
    const CASES: u32 = 20;
    // One worker slot: a single run pushes the cases one after the other.
    let p = Pipeline::start_with(PipelineOptions {
        worker: WorkerOptions {
            concurrency: 1,
            ..WorkerOptions::default()
        },
        ..PipelineOptions::default()
    })
    .await;
    p.watch().await;
    let mut conn = p.w.db.conn();
    let cases: Vec<CaseId> = (1..=CASES)
        .map(|i| {
            insert_case_with(
                &mut conn,
                p.w.user_id,
                &format!("Limited {i}"),
                &[(DeadlineKind::RfiDue, day(3, i))],
            )
        })
        .collect();
    settle(&p, "the events", || live_event_count(&p) == cases.len()).await;

    // Every deadline moves at once; Google rate-limits the patch of the 16th case, after the
    // run has pushed 15.
    let late = link(&mut conn, cases[15], DeadlineKind::RfiDue).google_event_id;
    p.w.emu.inject_fault(
        FaultRule::new(FaultKind::RateLimit403, 1)
            .method("PATCH")
            .path_contains(&late),
    );
    conn.batch_execute("UPDATE cases SET rfi_due_date = rfi_due_date + 7")
        .unwrap();
    let moved = |case: CaseId| {
        event_of(&p, case, DeadlineKind::RfiDue).and_then(|e| event_date(&e))
            == deadline(&mut p.w.db.conn(), case, DeadlineKind::RfiDue)
    };
    let took = eventually(
        Duration::from_secs(10),
        "every move, the refused one too",
        || {
            let done = outbox_len(&mut p.w.db.conn()) == 0 && cases.iter().all(|c| moved(*c));
            async move { done }
        },
    )
    .await;
    let refused: Vec<_> = event_requests(&p, "PATCH")
        .into_iter()
        .filter(|r| r.status == 403)
        .collect();
    assert_eq!(refused.len(), 1, "the fault was hit: {took:?}");
    p.until_idle().await;
    p.stop().await;
}
