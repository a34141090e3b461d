//! Typed event input for acting as the user in Google. It renders to the Event JSON that the
//! API accepts, so the same validation applies as for requests from calsync.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat};
use serde_json::{Map, Value, json};

/// A start or end time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTime {
    /// All-day: `{"date": "yyyy-mm-dd"}`. An end date is exclusive.
    Date(NaiveDate),
    /// `{"dateTime": "<RFC 3339 with offset>"}`.
    DateTime(DateTime<FixedOffset>),
    /// `{"dateTime": "<local time>", "timeZone": "<IANA name>"}`.
    Zoned {
        /// Wall-clock time in `time_zone`.
        local: NaiveDateTime,
        /// IANA zone name, e.g. `America/New_York`.
        time_zone: String,
    },
}

impl EventTime {
    /// The `EventDateTime` JSON.
    pub fn to_json(&self) -> Value {
        match self {
            EventTime::Date(d) => json!({"date": d.format("%Y-%m-%d").to_string()}),
            EventTime::DateTime(t) => {
                json!({"dateTime": t.to_rfc3339_opts(SecondsFormat::Secs, false)})
            }
            EventTime::Zoned { local, time_zone } => json!({
                "dateTime": local.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "timeZone": time_zone,
            }),
        }
    }
}

/// An event the user creates in Google's UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInput {
    /// Client-chosen id; the server generates one when `None`.
    pub id: Option<String>,
    /// Title.
    pub summary: String,
    /// Description.
    pub description: Option<String>,
    /// Start (inclusive).
    pub start: EventTime,
    /// End (exclusive).
    pub end: EventTime,
    /// `extendedProperties.private`.
    pub private_properties: BTreeMap<String, String>,
}

impl EventInput {
    /// A timed event.
    pub fn timed(summary: &str, start: DateTime<FixedOffset>, end: DateTime<FixedOffset>) -> Self {
        Self::new(
            summary,
            EventTime::DateTime(start),
            EventTime::DateTime(end),
        )
    }

    /// An all-day event on `first_day` lasting `days` days.
    pub fn all_day(summary: &str, first_day: NaiveDate, days: u32) -> Self {
        let end = first_day
            .checked_add_days(chrono::Days::new(u64::from(days)))
            .unwrap_or(first_day);
        Self::new(summary, EventTime::Date(first_day), EventTime::Date(end))
    }

    /// An event with the given times.
    pub fn new(summary: &str, start: EventTime, end: EventTime) -> Self {
        Self {
            id: None,
            summary: summary.to_owned(),
            description: None,
            start,
            end,
            private_properties: BTreeMap::new(),
        }
    }

    /// The Event JSON for an insert.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        if let Some(id) = &self.id {
            body.insert("id".to_owned(), json!(id));
        }
        body.insert("summary".to_owned(), json!(self.summary));
        if let Some(d) = &self.description {
            body.insert("description".to_owned(), json!(d));
        }
        body.insert("start".to_owned(), self.start.to_json());
        body.insert("end".to_owned(), self.end.to_json());
        if !self.private_properties.is_empty() {
            body.insert(
                "extendedProperties".to_owned(),
                json!({"private": self.private_properties}),
            );
        }
        Value::Object(body)
    }
}
