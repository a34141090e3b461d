//! Event writes: insert, update (full replace), patch (merge) and delete. Each successful write
//! gets a new etag and `updated`, and a new change-log stamp; the caller then notifies the
//! calendar's channels. Access checks happen before these are called: calendar ids here are
//! real, resolved ids.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::Store;
use super::calendar::Calendar;
use super::event_rules::{
    SERVER_FIELDS, generate_id, merge_patch, significant_change, timestamp, validate,
    validate_client_id,
};
use crate::config::TombstoneWrite;
use crate::errors::GoogleError;

/// Fields kept from the stored event on update and patch: set on insert, immutable after.
const IMMUTABLE_FIELDS: &[&str] = &[
    "kind",
    "id",
    "created",
    "creator",
    "organizer",
    "iCalUID",
    "eventType",
];

impl Store {
    /// `events.insert`. Returns the created event.
    pub fn insert_event(
        &mut self,
        calendar_id: &str,
        body: Value,
        now: DateTime<Utc>,
    ) -> Result<Value, GoogleError> {
        let Value::Object(mut body) = body else {
            return Err(GoogleError::parse_error());
        };
        let id = match body.get("id") {
            None | Some(Value::Null) => generate_id(),
            Some(Value::String(id)) => {
                validate_client_id(id)?;
                id.clone()
            }
            Some(_) => return Err(GoogleError::invalid("Invalid resource id value.")),
        };
        let owner = {
            let cal = self.calendar_or_404(calendar_id)?;
            // A tombstone keeps its id for good: re-inserting it is a duplicate too.
            if cal.events.contains_key(&id) {
                return Err(GoogleError::duplicate());
            }
            cal.id.clone()
        };
        for field in SERVER_FIELDS {
            body.remove(*field);
        }
        validate(&mut body)?;
        let etag = self.next_etag(now);
        let stamp = timestamp(now);
        let defaults = [
            ("status", json!("confirmed")),
            ("iCalUID", json!(format!("{id}@google.com"))),
            ("eventType", json!("default")),
            ("reminders", json!({"useDefault": true})),
        ];
        for (key, value) in defaults {
            if body.get(key).is_none_or(Value::is_null) {
                body.insert(key.to_owned(), value);
            }
        }
        let server = [
            ("kind", json!("calendar#event")),
            ("etag", json!(etag)),
            ("id", json!(id)),
            ("created", json!(stamp)),
            ("updated", json!(stamp)),
            ("sequence", json!(0)),
            ("creator", json!({"email": owner, "self": true})),
            ("organizer", json!({"email": owner, "self": true})),
        ];
        for (key, value) in server {
            body.insert(key.to_owned(), value);
        }
        let cal = self.calendar_or_404(calendar_id)?;
        cal.record(&id, body.clone(), now);
        Ok(Value::Object(body))
    }

    /// `events.update`: the body replaces every client-writable field.
    pub fn update_event(
        &mut self,
        calendar_id: &str,
        event_id: &str,
        body: Value,
        if_match: Option<&str>,
        tombstone: TombstoneWrite,
        now: DateTime<Utc>,
    ) -> Result<Value, GoogleError> {
        let Value::Object(mut body) = body else {
            return Err(GoogleError::parse_error());
        };
        let old = self.writable(calendar_id, event_id, if_match, tombstone)?;
        for field in SERVER_FIELDS {
            body.remove(*field);
        }
        if body.get("status").is_none_or(Value::is_null) {
            body.insert("status".to_owned(), json!("confirmed"));
        }
        self.commit_change(calendar_id, event_id, &old, body, now)
    }

    /// `events.patch`: given fields replace, `null` clears, extended properties merge per key.
    pub fn patch_event(
        &mut self,
        calendar_id: &str,
        event_id: &str,
        patch: Value,
        if_match: Option<&str>,
        tombstone: TombstoneWrite,
        now: DateTime<Utc>,
    ) -> Result<Value, GoogleError> {
        let Value::Object(patch) = patch else {
            return Err(GoogleError::parse_error());
        };
        let old = self.writable(calendar_id, event_id, if_match, tombstone)?;
        let mut merged = old.clone();
        merge_patch(&mut merged, patch);
        self.commit_change(calendar_id, event_id, &old, merged, now)
    }

    /// `events.delete`: the event becomes a tombstone (`status: cancelled`) that keeps its id.
    pub fn delete_event(
        &mut self,
        calendar_id: &str,
        event_id: &str,
        if_match: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), GoogleError> {
        let mut body = self.writable(calendar_id, event_id, if_match, TombstoneWrite::Gone410)?;
        body.insert("status".to_owned(), json!("cancelled"));
        body.insert("etag".to_owned(), json!(self.next_etag(now)));
        body.insert("updated".to_owned(), json!(timestamp(now)));
        self.calendar_or_404(calendar_id)?
            .record(event_id, body, now);
        Ok(())
    }

    /// The stored event, if it may be written: it exists, is not a tombstone, and `If-Match`
    /// (when sent) names its current etag.
    fn writable(
        &mut self,
        calendar_id: &str,
        event_id: &str,
        if_match: Option<&str>,
        tombstone: TombstoneWrite,
    ) -> Result<Map<String, Value>, GoogleError> {
        let cal = self.calendar_or_404(calendar_id)?;
        let event = cal
            .events
            .get(event_id)
            .ok_or_else(GoogleError::not_found)?;
        if event.is_cancelled() {
            return Err(match tombstone {
                TombstoneWrite::Forbidden403 => GoogleError::forbidden(),
                TombstoneWrite::Gone410 => GoogleError::deleted(),
            });
        }
        if let Some(expected) = if_match
            && expected != "*"
            && expected != event.etag()
        {
            return Err(GoogleError::condition_not_met());
        }
        Ok(event.body.clone())
    }

    fn commit_change(
        &mut self,
        calendar_id: &str,
        event_id: &str,
        old: &Map<String, Value>,
        mut new: Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<Value, GoogleError> {
        for field in IMMUTABLE_FIELDS {
            match old.get(*field) {
                Some(v) => new.insert((*field).to_owned(), v.clone()),
                None => new.remove(*field),
            };
        }
        validate(&mut new)?;
        let sequence = old.get("sequence").and_then(Value::as_i64).unwrap_or(0)
            + i64::from(significant_change(old, &new));
        new.insert("sequence".to_owned(), json!(sequence));
        new.insert("etag".to_owned(), json!(self.next_etag(now)));
        new.insert("updated".to_owned(), json!(timestamp(now)));
        self.calendar_or_404(calendar_id)?
            .record(event_id, new.clone(), now);
        Ok(Value::Object(new))
    }

    fn calendar_or_404(&mut self, calendar_id: &str) -> Result<&mut Calendar, GoogleError> {
        self.calendars
            .get_mut(calendar_id)
            .ok_or_else(GoogleError::not_found)
    }
}
