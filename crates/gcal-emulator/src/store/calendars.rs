//! The `calendars` and `calendarList` resources: creating, reading, renaming and deleting
//! calendars, and each user's calendar list (every calendar the user owns; sharing is not
//! emulated, so the list holds exactly the user's own calendars).

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::calendar::Calendar;
use super::{Store, random_token};
use crate::errors::GoogleError;

/// A calendar as the control API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarInfo {
    /// Calendar id.
    pub id: String,
    /// Owning user.
    pub owner: String,
    /// Title.
    pub summary: String,
    /// Description.
    pub description: Option<String>,
    /// Time zone.
    pub time_zone: String,
    /// Whether it is the owner's primary calendar.
    pub primary: bool,
    /// OAuth client that created it (`None`: primary, or made by the user).
    pub created_by_client: Option<String>,
    /// Number of live (not deleted) events.
    pub live_events: usize,
}

fn missing_title() -> GoogleError {
    GoogleError::required("Missing title.")
}

fn text_field(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<Option<String>>, GoogleError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(GoogleError::invalid(&format!("Invalid value for: {name}"))),
    }
}

/// A new secondary calendar id, shaped like the ones Google hands out today.
fn secondary_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("c_{hex}@group.calendar.google.com")
}

impl Calendar {
    fn conference_properties() -> Value {
        json!({"allowedConferenceSolutionTypes": ["hangoutsMeet"]})
    }

    /// The `Calendar` resource (`calendars.get`).
    pub fn resource(&self) -> Value {
        let mut out = json!({
            "kind": "calendar#calendar",
            "etag": self.etag,
            "id": self.id,
            "summary": self.summary,
            "timeZone": self.time_zone,
            "conferenceProperties": Self::conference_properties(),
        });
        if let Some(obj) = out.as_object_mut() {
            if let Some(d) = &self.description {
                obj.insert("description".to_owned(), json!(d));
            }
            if let Some(l) = &self.location {
                obj.insert("location".to_owned(), json!(l));
            }
        }
        out
    }

    /// The `CalendarListEntry` resource of the owner's list.
    pub fn list_entry(&self, primary: bool) -> Value {
        let mut out = json!({
            "kind": "calendar#calendarListEntry",
            "etag": self.etag,
            "id": self.id,
            "summary": self.summary,
            "timeZone": self.time_zone,
            "colorId": if primary { "14" } else { "7" },
            "backgroundColor": if primary { "#9fe1e7" } else { "#42d692" },
            "foregroundColor": "#000000",
            "selected": true,
            "accessRole": "owner",
            "defaultReminders": if primary { json!([{"method": "popup", "minutes": 10}]) } else { json!([]) },
            "conferenceProperties": Self::conference_properties(),
        });
        if let Some(obj) = out.as_object_mut() {
            if let Some(d) = &self.description {
                obj.insert("description".to_owned(), json!(d));
            }
            if let Some(l) = &self.location {
                obj.insert("location".to_owned(), json!(l));
            }
            if primary {
                obj.insert("primary".to_owned(), json!(true));
            }
        }
        out
    }
}

impl Store {
    fn is_primary(&self, cal: &Calendar) -> bool {
        self.users
            .get(&cal.owner)
            .is_some_and(|u| u.primary_calendar == cal.id)
    }

    /// `calendars.insert`: a secondary calendar owned by `owner`, recorded as created by
    /// `client_id` (`None` when the user makes it in the UI). Returns the resource.
    pub fn insert_calendar(
        &mut self,
        owner: &str,
        client_id: Option<&str>,
        body: Value,
        now: DateTime<Utc>,
    ) -> Result<Value, GoogleError> {
        let Value::Object(body) = body else {
            return Err(GoogleError::parse_error());
        };
        let summary = match text_field(&body, "summary")? {
            Some(Some(s)) if !s.trim().is_empty() => s,
            _ => return Err(missing_title()),
        };
        let default_zone = self
            .users
            .get(owner)
            .and_then(|u| self.calendars.get(&u.primary_calendar))
            .map(|c| c.time_zone.clone())
            .unwrap_or_else(|| "UTC".to_owned());
        let time_zone = match text_field(&body, "timeZone")? {
            Some(Some(z)) if !z.is_empty() => z,
            _ => default_zone,
        };
        let id = secondary_id();
        let mut cal = Calendar::new(&id, owner, &time_zone, random_token(20), now);
        cal.summary = summary;
        cal.description = text_field(&body, "description")?.flatten();
        cal.location = text_field(&body, "location")?.flatten();
        cal.created_by_client = client_id.map(str::to_owned);
        cal.etag = self.next_etag(now);
        let out = cal.resource();
        self.calendars.insert(id, cal);
        Ok(out)
    }

    /// `calendars.patch` (`replace = false`) or `calendars.update` (`replace = true`).
    pub fn write_calendar(
        &mut self,
        calendar_id: &str,
        body: Value,
        replace: bool,
        now: DateTime<Utc>,
    ) -> Result<Value, GoogleError> {
        let Value::Object(body) = body else {
            return Err(GoogleError::parse_error());
        };
        let summary = text_field(&body, "summary")?;
        let description = text_field(&body, "description")?;
        let location = text_field(&body, "location")?;
        let time_zone = text_field(&body, "timeZone")?;
        match &summary {
            Some(Some(s)) if s.trim().is_empty() => return Err(missing_title()),
            Some(None) => return Err(missing_title()),
            None if replace => return Err(missing_title()),
            _ => {}
        }
        let etag = self.next_etag(now);
        let cal = self
            .calendars
            .get_mut(calendar_id)
            .ok_or_else(GoogleError::not_found)?;
        if let Some(Some(s)) = summary {
            cal.summary = s;
        }
        if replace {
            cal.description = description.flatten();
            cal.location = location.flatten();
        } else {
            if let Some(d) = description {
                cal.description = d;
            }
            if let Some(l) = location {
                cal.location = l;
            }
        }
        if let Some(Some(z)) = time_zone.filter(|z| z.as_ref().is_some_and(|z| !z.is_empty())) {
            cal.time_zone = z;
        }
        cal.etag = etag;
        Ok(cal.resource())
    }

    /// `calendars.delete`: a secondary calendar goes, with its events; its channels stop and
    /// later calls on it answer 404. The primary calendar cannot be deleted.
    pub fn delete_calendar(&mut self, calendar_id: &str) -> Result<(), GoogleError> {
        let cal = self
            .calendars
            .get(calendar_id)
            .ok_or_else(GoogleError::not_found)?;
        if self.is_primary(cal) {
            return Err(GoogleError::new(
                400,
                "global",
                "cannotDeletePrimaryCalendar",
                "Cannot delete primary calendar.",
            ));
        }
        self.calendars.remove(calendar_id);
        for ch in self.channels.values_mut() {
            if ch.calendar_id == calendar_id {
                ch.stopped = true;
            }
        }
        Ok(())
    }

    /// `calendarList.list`: the user's calendars, primary first, then by title.
    pub fn calendar_list(&self, email: &str) -> Vec<Value> {
        self.calendars_of(email)
            .into_iter()
            .map(|c| c.list_entry(self.is_primary(c)))
            .collect()
    }

    /// `calendarList.get` for a resolved calendar id.
    pub fn calendar_list_entry(&self, calendar_id: &str) -> Option<Value> {
        let cal = self.calendars.get(calendar_id)?;
        Some(cal.list_entry(self.is_primary(cal)))
    }

    fn calendars_of(&self, email: &str) -> Vec<&Calendar> {
        let mut mine: Vec<&Calendar> = self
            .calendars
            .values()
            .filter(|c| c.owner == email)
            .collect();
        mine.sort_by(|a, b| {
            (!self.is_primary(a), &a.summary, &a.id).cmp(&(!self.is_primary(b), &b.summary, &b.id))
        });
        mine
    }

    /// The user's calendars, for the control API.
    pub fn calendar_infos(&self, email: &str) -> Vec<CalendarInfo> {
        self.calendars_of(email)
            .into_iter()
            .map(|c| CalendarInfo {
                id: c.id.clone(),
                owner: c.owner.clone(),
                summary: c.summary.clone(),
                description: c.description.clone(),
                time_zone: c.time_zone.clone(),
                primary: self.is_primary(c),
                created_by_client: c.created_by_client.clone(),
                live_events: c.events.values().filter(|e| !e.is_cancelled()).count(),
            })
            .collect()
    }
}
