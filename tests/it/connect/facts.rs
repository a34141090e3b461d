//! What the connect tests share: a case with two deadlines, the calendar's live events, the
//! status.

use std::time::Duration;

use calsync::db::schema::cases;
use calsync::ids::CaseId;
use chrono::NaiveDate;
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::support::ConnectWorld;
use crate::helpers::builders::insert_case;
use crate::helpers::test_redis::eventually;

pub const WITHIN: Duration = crate::helpers::pipeline::WITHIN;

pub fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 6, d).unwrap()
}

/// An open case of the world's user with an I-140 and an RFE deadline.
pub fn case_with_deadlines(world: &ConnectWorld) -> CaseId {
    let mut conn = world.w.db.conn();
    let id = insert_case(&mut conn, world.user);
    diesel::update(cases::table.find(id))
        .set((
            cases::i140_filing_deadline.eq(day(1)),
            cases::rfe_due_date.eq(day(10)),
        ))
        .execute(&mut conn)
        .unwrap();
    id
}

pub fn live_events(world: &ConnectWorld, calendar: &str) -> Vec<Value> {
    world
        .w
        .emu
        .events(calendar)
        .into_iter()
        .filter(|e| e["status"] != "cancelled")
        .collect()
}

pub fn event_on(world: &ConnectWorld, calendar: &str, label: &str) -> Option<Value> {
    live_events(world, calendar)
        .into_iter()
        .find(|e| e["summary"].as_str().is_some_and(|s| s.starts_with(label)))
}

pub fn event_date(e: &Value) -> Option<String> {
    e["start"]["date"].as_str().map(str::to_owned)
}

pub async fn status(world: &ConnectWorld) -> Value {
    let (code, body) = world.call(Method::GET, "/api/google-calendar/status").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body
}

pub async fn until_state(world: &ConnectWorld, state: &str) -> Value {
    eventually(WITHIN, &format!("the status to be {state}"), || async {
        status(world).await["state"] == state
    })
    .await;
    status(world).await
}
