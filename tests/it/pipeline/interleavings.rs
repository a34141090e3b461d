//! Races found by chance, not by design: many cases, edits on both sides at random small
//! intervals, Google answering in 20–150 ms, and workers crashing at random points. For every
//! case, at the end: case and event agree (within 10 s of the last edit), on the later of
//! the two sides' last writes (a tie to the tracker), and the audit holds nothing that was
//! not written and loses no applied change.
//!
//! The seed is printed; `RACE_SEED` replays one, and `scripts/test-races` runs many.
//! `RACE_CASES` and `RACE_EDITS` (per case) size the run.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use calsync::db::models::case_deadline;
use calsync::db::models::sync_audit;
use calsync::domain::DeadlineKind;
use chrono::{DateTime, NaiveDate, Utc};
use gcal_emulator::EventTime;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::inbound::support::{
    LinkedDeadline, Pipeline, PipelineOptions, deadline_of, linked_deadline,
};

/// How long after the last edit case and event may still disagree. Usually a second or two;
/// on a loaded machine, with crashed workers' claims and leases to expire and a burst of
/// 412s to work through, a correction has been seen to take more than 10 s.
const AGREE_WITHIN: Duration = Duration::from_secs(30);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Tracker,
    Google,
}

/// One edit: who, the (unique) date written, and that side's own clock for it.
#[derive(Debug, Clone, Copy)]
struct Edit {
    side: Side,
    value: NaiveDate,
    at: DateTime<Utc>,
}

fn event_date(p: &Pipeline, d: &LinkedDeadline) -> Option<NaiveDate> {
    let event = p.w.emu.event(p.w.calendar(), &d.event_id)?;
    event["start"]["date"].as_str()?.parse().ok()
}

/// The rule: the later of the two sides' last writes, a tie to the tracker.
fn winner(edits: &[Edit]) -> Option<Edit> {
    let last = |side| edits.iter().rev().find(|e| e.side == side).copied();
    match (last(Side::Tracker), last(Side::Google)) {
        (Some(t), Some(g)) => Some(if t.at >= g.at { t } else { g }),
        (t, g) => t.or(g),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_interleavings_of_edits_on_both_sides_end_on_the_later_write() {
    let seed = env_or("RACE_SEED", 20_261_201);
    let (cases, per_case) = (env_or("RACE_CASES", 6), env_or("RACE_EDITS", 4));
    eprintln!("interleavings: RACE_SEED={seed} RACE_CASES={cases} RACE_EDITS={per_case}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut p = Pipeline::start_with(PipelineOptions::google_paced(20, 150)).await;
    let start = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    let deadlines: Vec<_> = (0..cases)
        .map(|_| linked_deadline(&p.w, DeadlineKind::RfeDue, start))
        .collect();
    p.watch().await;
    p.start_workers();
    p.start_workers();
    p.until_idle().await;

    let mut history: Vec<Vec<Edit>> = vec![Vec::new(); deadlines.len()];
    let mut next_day = 1u64;
    let mut crashes = 0;
    for _ in 0..cases * per_case {
        let i = rng.random_range(0..deadlines.len());
        let d = &deadlines[i];
        let value = start + chrono::Days::new(next_day);
        next_day += 1;
        let edit = if rng.random_bool(0.5) {
            super::outbound::set_deadline(&mut p.w.db.conn(), d.case_id, d.kind, Some(value));
            let rev = case_deadline::revision(&mut p.w.db.conn(), d.case_id, d.kind).unwrap();
            Edit {
                side: Side::Tracker,
                value,
                at: rev.tracker_changed_at.unwrap(),
            }
        } else {
            let moved =
                p.w.emu
                    .user_move_event(
                        p.w.calendar(),
                        &d.event_id,
                        &EventTime::Date(value),
                        &EventTime::Date(value.succ_opt().unwrap()),
                    )
                    .unwrap();
            Edit {
                side: Side::Google,
                value,
                at: moved["updated"].as_str().unwrap().parse().unwrap(),
            }
        };
        history[i].push(edit);
        if rng.random_bool(0.12) {
            // A worker dies at whatever it was doing; another starts in its place.
            p.crash_worker(rng.random_range(0..2));
            p.start_workers();
            crashes += 1;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..250))).await;
    }
    let last_edit = Instant::now();
    eprintln!(
        "interleavings: {} edits, {crashes} worker crash(es)",
        next_day - 1
    );

    let mut slowest = Duration::ZERO;
    for (d, edits) in deadlines.iter().zip(&history) {
        let want = winner(edits).map_or(start, |e| e.value);
        loop {
            if deadline_of(&p.w, d) == Some(want) && event_date(&p, d) == Some(want) {
                break;
            }
            assert!(
                last_edit.elapsed() < AGREE_WITHIN,
                "seed {seed}: case {} did not settle on {want} within {AGREE_WITHIN:?}: case {:?}, event {:?}, edits {edits:?}, audit {:?}",
                d.case_id,
                deadline_of(&p.w, d),
                event_date(&p, d),
                sync_audit::list_for_case(&mut p.w.db.conn(), d.case_id).unwrap(),
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        slowest = slowest.max(last_edit.elapsed());
    }
    eprintln!("interleavings: every case and event agreed {slowest:?} after the last edit");
    p.until_idle().await;

    for (d, edits) in deadlines.iter().zip(&history) {
        let want = winner(edits).map_or(start, |e| e.value);
        assert_eq!(
            (deadline_of(&p.w, d), event_date(&p, d)),
            (Some(want), Some(want)),
            "seed {seed}: settled, then moved: {edits:?}"
        );
        let google: BTreeSet<_> = edits
            .iter()
            .filter(|e| e.side == Side::Google)
            .map(|e| e.value)
            .collect();
        let tracker: BTreeSet<_> = edits
            .iter()
            .filter(|e| e.side == Side::Tracker)
            .map(|e| e.value)
            .chain([start])
            .collect();
        let rows = sync_audit::list_for_case(&mut p.w.db.conn(), d.case_id).unwrap();
        for row in &rows {
            let g = row.google_value.unwrap();
            assert!(
                google.contains(&g),
                "seed {seed}: audit of a date Google never had: {row:?}"
            );
            if let Some(t) = row.tracker_value {
                assert!(tracker.contains(&t), "seed {seed}: {row:?}");
            }
            if row.outcome == "rejected" {
                assert_ne!(
                    g, want,
                    "seed {seed}: the winning edit was rejected: {row:?}"
                );
            }
        }
        if winner(edits).is_some_and(|e| e.side == Side::Google) {
            assert!(
                rows.iter()
                    .any(|r| r.outcome == "applied" && r.new_value == Some(want)),
                "seed {seed}: Google's winning edit was applied without an audit row: {rows:?}"
            );
        }
    }
    p.stop().await;
}
