//! Google's rules for the Event resource: client-supplied ids, start/end shapes, status values,
//! extended-property limits, and what counts as a "significant" change for `sequence`.
//!
//! Times without an offset (`dateTime` + `timeZone`) are compared as if they were UTC: the
//! emulator carries no time-zone database, and only ordering and filtering use these values.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::errors::GoogleError;

/// Fields the server owns; values sent by clients are ignored.
pub const SERVER_FIELDS: &[&str] = &[
    "kind",
    "etag",
    "id",
    "created",
    "updated",
    "sequence",
    "creator",
    "organizer",
    "htmlLink",
];

/// Changes to these fields bump `sequence` (the iCalendar rule: changes that matter to
/// attendees). Google also counts a few more (location, recurrence); we keep to the
/// schedule and title, which is what calsync relies on.
const SIGNIFICANT_FIELDS: &[&str] = &["start", "end", "summary"];

/// Longest extended-property key kept; longer keys are silently dropped (documented).
const MAX_PROPERTY_KEY: usize = 44;
/// Longest extended-property value; longer values are silently truncated (documented).
const MAX_PROPERTY_VALUE: usize = 1024;

/// Checks a client-supplied id: base32hex characters (`0-9`, `a-v`), 5 to 1024 long.
pub fn validate_client_id(id: &str) -> Result<(), GoogleError> {
    let ok_len = (5..=1024).contains(&id.len());
    let ok_chars = id
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(GoogleError::invalid("Invalid resource id value.").at("parameter", "id"))
    }
}

/// A server-generated id: a hyphen-free UUID, which is valid base32hex.
pub fn generate_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `updated`/`created` format: RFC 3339 in UTC with milliseconds.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp with offset (query parameters such as `timeMin`).
pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The instant an `EventDateTime` denotes, in milliseconds since the epoch.
fn instant_ms(edt: &Value, which: &str) -> Result<(bool, i64), GoogleError> {
    let bad = || GoogleError::invalid(&format!("Invalid {which} time."));
    let obj = edt.as_object().ok_or_else(bad)?;
    match (obj.get("date"), obj.get("dateTime")) {
        (Some(Value::String(d)), None | Some(Value::Null)) => {
            let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| bad())?;
            let ms = date
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp_millis())
                .ok_or_else(bad)?;
            Ok((true, ms))
        }
        (None | Some(Value::Null), Some(Value::String(dt))) => {
            if let Some(t) = parse_rfc3339(dt) {
                return Ok((false, t.timestamp_millis()));
            }
            if obj.get("timeZone").and_then(Value::as_str).is_none() {
                return Err(GoogleError::invalid(&format!(
                    "Missing time zone definition for {which} time."
                )));
            }
            let naive =
                NaiveDateTime::parse_from_str(dt, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())?;
            Ok((false, naive.and_utc().timestamp_millis()))
        }
        _ => Err(bad()),
    }
}

/// Start and end of an event in epoch milliseconds, if both are well formed.
pub fn bounds_ms(body: &Map<String, Value>) -> Option<(i64, i64)> {
    let start = instant_ms(body.get("start")?, "start").ok()?.1;
    let end = instant_ms(body.get("end")?, "end").ok()?.1;
    Some((start, end))
}

/// Validates everything a client may send on insert, update or (after merging) patch.
pub fn validate(body: &mut Map<String, Value>) -> Result<(), GoogleError> {
    let start = body
        .get("start")
        .filter(|v| !v.is_null())
        .ok_or_else(|| GoogleError::required("Missing start time."))?;
    let end = body
        .get("end")
        .filter(|v| !v.is_null())
        .ok_or_else(|| GoogleError::required("Missing end time."))?;
    let (start_all_day, start_ms) = instant_ms(start, "start")?;
    let (end_all_day, end_ms) = instant_ms(end, "end")?;
    if start_all_day != end_all_day {
        return Err(GoogleError::invalid(
            "Start and end times must either both be date or both be dateTime.",
        ));
    }
    if end_ms < start_ms {
        return Err(GoogleError::time_range_empty());
    }
    match body.get("status") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if ["confirmed", "tentative", "cancelled"].contains(&s.as_str()) => {
        }
        Some(_) => return Err(GoogleError::invalid("Invalid value for: status")),
    }
    clean_extended_properties(body)
}

/// Applies the documented extended-property limits and rejects non-string values.
fn clean_extended_properties(body: &mut Map<String, Value>) -> Result<(), GoogleError> {
    let Some(props) = body.get_mut("extendedProperties") else {
        return Ok(());
    };
    let Some(props) = props.as_object_mut() else {
        return Err(GoogleError::invalid(
            "Invalid value for: extendedProperties",
        ));
    };
    for section in ["private", "shared"] {
        let Some(map) = props.get_mut(section).and_then(Value::as_object_mut) else {
            continue;
        };
        map.retain(|key, _| key.chars().count() <= MAX_PROPERTY_KEY);
        for value in map.values_mut() {
            let Value::String(s) = value else {
                return Err(GoogleError::invalid(&format!(
                    "Invalid value for: extendedProperties.{section}"
                )));
            };
            if let Some((cut, _)) = s.char_indices().nth(MAX_PROPERTY_VALUE) {
                s.truncate(cut);
            }
        }
    }
    Ok(())
}

/// Whether the change from `old` to `new` should bump `sequence`.
pub fn significant_change(old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    SIGNIFICANT_FIELDS
        .iter()
        .any(|field| old.get(*field) != new.get(*field))
}

/// Patch semantics: fields given replace the old values, `null` clears a field, and the
/// extended-property maps are merged key by key, a key set to `null` being removed.
pub fn merge_patch(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        if SERVER_FIELDS.contains(&key.as_str()) {
            continue;
        }
        if key == "extendedProperties"
            && let Value::Object(sections) = value
        {
            let props = target
                .entry("extendedProperties")
                .or_insert_with(|| Value::Object(Map::new()));
            if !props.is_object() {
                *props = Value::Object(Map::new());
            }
            if let Some(props) = props.as_object_mut() {
                merge_properties(props, sections);
            }
            continue;
        }
        if value.is_null() {
            target.remove(&key);
        } else {
            target.insert(key, value);
        }
    }
}

fn merge_properties(props: &mut Map<String, Value>, sections: Map<String, Value>) {
    for (section, entries) in sections {
        match entries {
            Value::Object(entries) => {
                let slot = props
                    .entry(section)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Some(map) = slot.as_object_mut() {
                    for (k, v) in entries {
                        if v.is_null() {
                            map.remove(&k);
                        } else {
                            map.insert(k, v);
                        }
                    }
                }
            }
            Value::Null => {
                props.remove(&section);
            }
            other => {
                props.insert(section, other);
            }
        }
    }
}
