//! The parts of Google's Calendar resources calsync reads and writes. Unknown fields are
//! ignored on input and absent fields are left out on output, so a `patch` sends only what
//! is set.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing)]
    pub etag: Option<String>,
    /// `confirmed`, `tentative` or `cancelled` (deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<EventDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<EventDateTime>,
    #[serde(default, skip_serializing)]
    pub updated: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_properties: Option<ExtendedProperties>,
    /// `opaque` (busy) or `transparent` (free).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transparency: Option<String>,
    /// `default`, `public`, `private` or `confidential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// One of Google's event colours, `"1"` to `"11"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders: Option<Reminders>,
    /// A link to where the event came from (shown by Google Calendar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<EventSource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reminders {
    #[serde(default)]
    pub use_default: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<ReminderOverride>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReminderOverride {
    pub method: String,
    pub minutes: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventSource {
    pub title: String,
    pub url: String,
}

impl Event {
    /// A deleted event (Google's tombstone).
    pub fn is_cancelled(&self) -> bool {
        self.status.as_deref() == Some("cancelled")
    }

    /// The event's day: the date of an all-day event, or the local date of a timed one.
    /// Both sync directions compare deadlines by this.
    pub fn date(&self) -> Option<NaiveDate> {
        let start = self.start.as_ref()?;
        start
            .date
            .or_else(|| start.date_time.map(|dt| dt.date_naive()))
    }

    /// The value of a private extended property.
    pub fn private_property(&self, key: &str) -> Option<&str> {
        self.extended_properties
            .as_ref()?
            .private
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }
}

/// `start`/`end`: `date` for all-day events, `dateTime` (+ `timeZone`) for timed ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDateTime {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_time: Option<DateTime<chrono::FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl EventDateTime {
    pub fn all_day(date: NaiveDate) -> Self {
        Self {
            date: Some(date),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtendedProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<BTreeMap<String, String>>,
}

/// A calendar (calendars.* and calendarList entries share these fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Calendar {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// One page of events.list: either `next_page_token` or, on the last page, `next_sync_token`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsPage {
    #[serde(default)]
    pub items: Vec<Event>,
    pub next_page_token: Option<String>,
    pub next_sync_token: Option<String>,
}

/// The watch channel Google created.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchChannel {
    pub id: String,
    pub resource_id: String,
    pub resource_uri: Option<String>,
    /// Epoch milliseconds. Google's JSON sends int64 as a string; a number is accepted too.
    #[serde(deserialize_with = "int64_string_or_number")]
    pub expiration: i64,
}

fn int64_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_accepts_string_and_number() {
        let s: WatchChannel = serde_json::from_str(
            r#"{"kind":"api#channel","id":"c","resourceId":"r","expiration":"1572554586000"}"#,
        )
        .unwrap();
        assert_eq!(s.expiration, 1_572_554_586_000);
        let n: WatchChannel =
            serde_json::from_str(r#"{"id":"c","resourceId":"r","expiration":1426325213000}"#)
                .unwrap();
        assert_eq!(n.expiration, 1_426_325_213_000);
    }

    #[test]
    fn tombstone_and_all_day_event_parse() {
        let page: EventsPage = serde_json::from_str(
            r#"{"kind":"calendar#events","nextSyncToken":"CO_yu9Km=","items":[
                {"kind":"calendar#event","etag":"\"1\"","id":"a","status":"cancelled"},
                {"id":"b","etag":"\"2\"","status":"confirmed","start":{"date":"2027-03-01"},
                 "end":{"date":"2027-03-02"},"updated":"2026-11-24T10:00:00.123Z",
                 "extendedProperties":{"private":{"k":"v"}}}]}"#,
        )
        .unwrap();
        assert!(page.items[0].is_cancelled());
        assert_eq!(
            page.items[1].start,
            Some(EventDateTime::all_day(
                NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()
            ))
        );
        assert_eq!(page.items[1].private_property("k"), Some("v"));
        assert_eq!(page.next_sync_token.as_deref(), Some("CO_yu9Km="));
        assert!(page.next_page_token.is_none());
    }

    #[test]
    fn serialised_event_sends_only_what_is_set_and_never_read_only_fields() {
        let e = Event {
            id: Some("abcde".into()),
            etag: Some("\"1\"".into()),
            summary: Some("s".into()),
            start: Some(EventDateTime::all_day(
                NaiveDate::from_ymd_opt(2027, 1, 2).unwrap(),
            )),
            ..Event::default()
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id":"abcde","summary":"s","start":{"date":"2027-01-02"}})
        );
    }
}
