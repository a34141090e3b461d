//! A calendar: its events (live and tombstoned) and the change log that sync tokens point into.
//!
//! The change log is implicit: every write bumps `seq` and stamps the written event with it, so
//! "changes since token T" is "events whose `changed_seq` is greater than T's sequence". A
//! tombstone keeps its id and its last stamp, so deletions show up in incremental syncs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// One calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// Calendar id (the owner's email for a primary calendar).
    pub id: String,
    /// Owning user's email.
    pub owner: String,
    /// Title (`summary`); the owner's email for a primary calendar.
    pub summary: String,
    /// `description`.
    pub description: Option<String>,
    /// `location`.
    pub location: Option<String>,
    /// Reported `timeZone`.
    pub time_zone: String,
    /// OAuth client that created the calendar with `calendars.insert`; `None` for the primary
    /// calendar and calendars the user made.
    pub created_by_client: Option<String>,
    /// Etag of the calendar resource (changes when its properties change).
    pub etag: String,
    /// Opaque id of the events collection, sent as `X-Goog-Resource-ID`.
    pub resource_id: String,
    /// Sequence of the latest change.
    pub seq: u64,
    /// Bumped to invalidate all outstanding sync tokens.
    pub epoch: u64,
    /// Time of the latest change.
    pub updated: DateTime<Utc>,
    /// Events by id, tombstones included.
    pub events: BTreeMap<String, StoredEvent>,
}

/// An event as stored: the full Google resource plus the change-log stamp.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The Event resource as `get` returns it.
    pub body: Map<String, Value>,
    /// Calendar sequence at this event's latest change.
    pub changed_seq: u64,
}

impl Calendar {
    /// An empty calendar.
    pub fn new(
        id: &str,
        owner: &str,
        time_zone: &str,
        resource_id: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.to_owned(),
            owner: owner.to_owned(),
            summary: id.to_owned(),
            description: None,
            location: None,
            time_zone: time_zone.to_owned(),
            created_by_client: None,
            etag: String::new(),
            resource_id,
            seq: 0,
            epoch: 0,
            updated: now,
            events: BTreeMap::new(),
        }
    }

    /// Stamps a change and stores the event.
    pub(super) fn record(&mut self, id: &str, body: Map<String, Value>, now: DateTime<Utc>) {
        self.seq += 1;
        self.updated = now;
        self.events.insert(
            id.to_owned(),
            StoredEvent {
                body,
                changed_seq: self.seq,
            },
        );
    }

    /// The `etag` of the events collection, which changes with every change.
    pub fn collection_etag(&self) -> String {
        format!("\"{:x}{:08x}\"", self.epoch, self.seq)
    }
}

impl StoredEvent {
    /// Whether the event is deleted (`status: cancelled`).
    pub fn is_cancelled(&self) -> bool {
        self.body.get("status").and_then(Value::as_str) == Some("cancelled")
    }

    /// The current etag.
    pub fn etag(&self) -> &str {
        self.body.get("etag").and_then(Value::as_str).unwrap_or("")
    }

    /// The full resource.
    pub fn full(&self) -> Value {
        Value::Object(self.body.clone())
    }

    /// The minimal tombstone incremental sync returns for a deleted event.
    pub fn tombstone(&self) -> Value {
        json!({
            "kind": "calendar#event",
            "etag": self.etag(),
            "id": self.body.get("id").cloned().unwrap_or(Value::Null),
            "status": "cancelled",
        })
    }
}
