//! Shared setup of the inbound pipeline tests.

pub(crate) use std::collections::BTreeMap;
pub(crate) use std::time::Duration;

pub(crate) use calsync::config::SyncSettings;
pub(crate) use calsync::crypto::{EncryptionKey, TokenCipher};
pub(crate) use calsync::db::models::CredentialStatus;
pub(crate) use calsync::db::models::calendar_channel::{
    self as channels, CalendarChannel, ChannelStatus,
};
pub(crate) use calsync::db::models::case_event_link::{self as links, CaseEventLink};
pub(crate) use calsync::db::models::google_credential;
pub(crate) use calsync::db::models::sync_audit::{self, AuditEntry};
pub(crate) use calsync::domain::DeadlineKind;
pub(crate) use chrono::{DateTime, NaiveDate, Utc};
pub(crate) use diesel::pg::PgConnection;
pub(crate) use diesel::prelude::*;
pub(crate) use diesel::sql_query;
pub(crate) use diesel::sql_types::BigInt;
pub(crate) use gcal_emulator::{
    EmulatorConfig, EventTime, FaultKind, FaultRule, NotificationMode, RecordedRequest,
};

pub(crate) use crate::helpers::calendar_fixtures::{LinkedDeadline, deadline_of, linked_deadline};
pub(crate) use crate::helpers::dates::day;
pub(crate) use crate::helpers::pipeline::{Pipeline, PipelineOptions, WITHIN};
pub(crate) use crate::helpers::process::{ChildProcess, calsync_worker};
pub(crate) use crate::helpers::test_redis::eventually;
pub(crate) use crate::helpers::worker::WorkerOptions;

pub(crate) fn move_to(p: &Pipeline, d: &LinkedDeadline, date: NaiveDate) -> String {
    let moved =
        p.w.emu
            .user_move_event(
                p.w.calendar(),
                &d.event_id,
                &EventTime::Date(date),
                &EventTime::Date(date.succ_opt().unwrap()),
            )
            .unwrap_or_else(|e| {
                for r in p.w.emu.requests() {
                    eprintln!(
                        "REQ {} {} {} {}",
                        r.method,
                        r.path,
                        r.status,
                        r.body.chars().take(300).collect::<String>()
                    );
                }
                panic!(
                    "move failed: {e:?}; event now {:?}",
                    p.w.emu.event(p.w.calendar(), &d.event_id)
                )
            });
    moved["etag"].as_str().unwrap().to_owned()
}

pub(crate) fn audit(p: &Pipeline, d: &LinkedDeadline) -> Vec<AuditEntry> {
    sync_audit::list_for_case(&mut p.w.db.conn(), d.case_id).unwrap()
}

pub(crate) fn link(p: &Pipeline, d: &LinkedDeadline) -> CaseEventLink {
    links::find_by_event(&mut p.w.db.conn(), p.w.user_id, p.w.calendar(), &d.event_id)
        .unwrap()
        .unwrap()
}

pub(crate) fn channel(p: &Pipeline, channel_id: &str) -> CalendarChannel {
    channels::find_by_channel_id(&mut p.w.db.conn(), channel_id)
        .unwrap()
        .unwrap()
}

pub(crate) fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    sql_query(sql).get_result::<N>(conn).unwrap().n
}

/// events.list requests the emulator answered, in arrival order.
pub(crate) fn list_requests(p: &Pipeline) -> Vec<RecordedRequest> {
    p.w.emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/events"))
        .collect()
}

pub(crate) fn param(r: &RecordedRequest, name: &str) -> Option<String> {
    r.query_pairs()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Makes the next events.list answer 429 with `Retry-After: retry_after_secs`.
pub(crate) fn rate_limit_next_list(p: &Pipeline, retry_after_secs: u32) {
    p.w.emu.inject_fault(
        FaultRule::new(FaultKind::Status429, 1)
            .path_contains("/events")
            .method("GET")
            .retry_after(retry_after_secs),
    );
}

/// A pipeline whose workers start only after the calendar is watched: the first sync then
/// runs alone, not beside the push and jobs that the watch itself sets off.
pub(crate) async fn paused() -> Pipeline {
    Pipeline::start_with(PipelineOptions {
        workers: false,
        ..PipelineOptions::default()
    })
    .await
}

/// Starts the workers of a [`paused`] pipeline, as `Pipeline::start` would have.
pub(crate) fn resume(p: &mut Pipeline) {
    p.start_workers();
}

/// No job went to the dead set and nothing is left in the queue.
pub(crate) async fn assert_queue_drained(p: &Pipeline) {
    let depth = p.redis.depth().await;
    assert_eq!(
        (depth.ready, depth.delayed, depth.inflight, depth.dead),
        (0, 0, 0, 0),
        "{depth:?}"
    );
}

pub(crate) fn assert_applied_once(
    p: &Pipeline,
    d: &LinkedDeadline,
    from: NaiveDate,
    to: NaiveDate,
) {
    let rows = audit(p, d);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0].outcome.as_str(),
            rows[0].old_value,
            rows[0].new_value
        ),
        ("applied", Some(from), Some(to))
    );
    assert_eq!(rows[0].field, d.kind.column());
    assert_eq!(deadline_of(&p.w, d), Some(to));
}

/// Backends of this test's database waiting for a lock.
pub(crate) fn lock_waiters(p: &Pipeline) -> i64 {
    count(
        &mut p.w.db.conn(),
        "SELECT count(*) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
}

/// Holds the case row's lock in a transaction of the test's own: a sync that changes the
/// case blocks at its commit (after its listing) until `release`.
pub(crate) fn lock_case(p: &Pipeline, d: &LinkedDeadline) -> PgConnection {
    let mut conn = p.w.db.conn();
    sql_query("BEGIN").execute(&mut conn).unwrap();
    sql_query(format!(
        "SELECT 1 FROM cases WHERE id = '{}' FOR UPDATE",
        d.case_id
    ))
    .execute(&mut conn)
    .unwrap();
    conn
}

pub(crate) fn release(mut lock: PgConnection) {
    sql_query("ROLLBACK").execute(&mut lock).unwrap();
}
