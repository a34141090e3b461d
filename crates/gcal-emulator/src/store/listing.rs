//! `events.list`: full listing, incremental sync with `syncToken`, paging, and filters.
//!
//! Order is by event id unless `orderBy` says otherwise ("an unspecified, stable order" at
//! Google). Paging resumes after the last sort key served, and the sync token handed out on the
//! last page carries the sequence seen when the *first* page was served: anything changed while
//! the client paged is therefore returned again by the next incremental sync, never lost.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Store;
use super::event_rules::{bounds_ms, parse_rfc3339};
use super::tokens::{PageToken, SyncToken};
use crate::errors::GoogleError;

/// Parameters that Google refuses together with `syncToken`.
const FORBIDDEN_WITH_SYNC: &[&str] = &[
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
];
/// Filters after which (reportedly) a full sync ends without `nextSyncToken`.
const FILTERS_WITHOUT_SYNC_TOKEN: &[&str] = &[
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
];

/// Sort orders of `orderBy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderBy {
    StartTime,
    Updated,
}

/// Parsed and validated `events.list` parameters.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    max_results: usize,
    page_token: Option<PageToken>,
    sync_token: Option<String>,
    show_deleted: bool,
    order_by: Option<OrderBy>,
    time_min: Option<i64>,
    time_max: Option<i64>,
    updated_min: Option<String>,
    q: Option<String>,
    ical_uid: Option<String>,
    private_props: Vec<(String, String)>,
    shared_props: Vec<(String, String)>,
    /// Whether a filter from `FILTERS_WITHOUT_SYNC_TOKEN` was given.
    filtered: bool,
}

fn time_param(name: &str, value: &str) -> Result<DateTime<Utc>, GoogleError> {
    parse_rfc3339(value).ok_or_else(|| GoogleError::invalid_param(name, "Bad Request"))
}

fn property_filter(name: &str, value: &str) -> Result<(String, String), GoogleError> {
    value
        .split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| GoogleError::invalid_param(name, "Invalid extended property filter."))
}

impl ListQuery {
    /// Validates the raw query pairs (repeated keys allowed).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, GoogleError> {
        let mut q = ListQuery {
            max_results: 250,
            ..ListQuery::default()
        };
        let mut single_events = false;
        let mut show_deleted_false = false;
        for (name, value) in pairs {
            match name.as_str() {
                "maxResults" => {
                    let n: usize = value
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| GoogleError::invalid_param(name, "Invalid Value"))?;
                    q.max_results = n.min(2500);
                }
                "pageToken" => {
                    q.page_token = Some(PageToken::decode(value).ok_or_else(|| {
                        GoogleError::invalid_param(name, "Invalid page token value.")
                    })?);
                }
                "syncToken" => q.sync_token = Some(value.clone()),
                "showDeleted" => {
                    q.show_deleted = value == "true";
                    show_deleted_false = value == "false";
                }
                "singleEvents" => single_events = value == "true",
                "orderBy" => {
                    q.order_by = Some(match value.as_str() {
                        "startTime" => OrderBy::StartTime,
                        "updated" => OrderBy::Updated,
                        _ => return Err(GoogleError::invalid_param(name, "Invalid Value")),
                    });
                }
                "timeMin" => q.time_min = Some(time_param(name, value)?.timestamp_millis()),
                "timeMax" => q.time_max = Some(time_param(name, value)?.timestamp_millis()),
                "updatedMin" => {
                    q.updated_min = Some(super::event_rules::timestamp(time_param(name, value)?));
                }
                "q" => q.q = Some(value.to_lowercase()),
                "iCalUID" => q.ical_uid = Some(value.clone()),
                "privateExtendedProperty" => q.private_props.push(property_filter(name, value)?),
                "sharedExtendedProperty" => q.shared_props.push(property_filter(name, value)?),
                _ => {}
            }
            q.filtered |= FILTERS_WITHOUT_SYNC_TOKEN.contains(&name.as_str());
        }
        if q.sync_token.is_some() {
            if let Some((name, _)) = pairs
                .iter()
                .find(|(n, _)| FORBIDDEN_WITH_SYNC.contains(&n.as_str()))
            {
                return Err(GoogleError::invalid_param(
                    name,
                    &format!("The parameter {name} cannot be used together with syncToken."),
                ));
            }
            // The reference: deleted events are always included, and showDeleted=false is not
            // allowed with a sync token.
            if show_deleted_false {
                return Err(GoogleError::invalid_param(
                    "showDeleted",
                    "showDeleted=false cannot be used together with syncToken.",
                ));
            }
        }
        if q.order_by == Some(OrderBy::StartTime) && !single_events {
            return Err(GoogleError::invalid_param(
                "orderBy",
                "The requested ordering is not available for the particular query.",
            ));
        }
        if let (Some(min), Some(max)) = (q.time_min, q.time_max)
            && min >= max
        {
            return Err(GoogleError::time_range_empty());
        }
        Ok(q)
    }
}

fn properties_match(
    body: &serde_json::Map<String, Value>,
    section: &str,
    want: &[(String, String)],
) -> bool {
    // The discovery document says every constraint must match; the guide says repeats are
    // OR'ed. UNCONFIRMED which is true; we follow the discovery document.
    want.iter().all(|(k, v)| {
        body.get("extendedProperties")
            .and_then(|p| p.get(section))
            .and_then(|s| s.get(k))
            .and_then(Value::as_str)
            == Some(v.as_str())
    })
}

impl Store {
    /// `events.list` on a resolved calendar. Returns the `Events` resource.
    pub fn list_events(
        &self,
        calendar_id: &str,
        q: &ListQuery,
        omit_sync_token_with_filters: bool,
    ) -> Result<Value, GoogleError> {
        let cal = self
            .calendar(calendar_id)
            .ok_or_else(GoogleError::not_found)?;
        let since = match &q.sync_token {
            None => None,
            Some(raw) => match SyncToken::decode(raw) {
                Some(t) if t.calendar == cal.id && t.epoch == cal.epoch && t.seq <= cal.seq => {
                    Some(t.seq)
                }
                _ => return Err(GoogleError::full_sync_required()),
            },
        };
        let (snapshot, epoch, after) = match &q.page_token {
            Some(p) => (p.snapshot, p.epoch, Some(p.after.as_str())),
            None => (cal.seq, cal.epoch, None),
        };
        let incremental = since.is_some() || q.updated_min.is_some();
        let mut rows: Vec<(String, &super::StoredEvent)> = cal
            .events
            .iter()
            .filter(|(_, ev)| match (since, &q.updated_min) {
                (Some(seq), _) => ev.changed_seq > seq,
                (None, Some(min)) => {
                    ev.body.get("updated").and_then(Value::as_str) >= Some(min.as_str())
                }
                (None, None) => q.show_deleted || !ev.is_cancelled(),
            })
            .filter(|(_, ev)| self.matches_filters(&ev.body, q))
            .map(|(id, ev)| (sort_key(id, &ev.body, q.order_by), ev))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let mut remaining = rows
            .into_iter()
            .filter(|(key, _)| after.is_none_or(|a| key.as_str() > a));
        let page: Vec<_> = remaining.by_ref().take(q.max_results).collect();
        let more = remaining.next().is_some();
        let items: Vec<Value> = page
            .iter()
            .map(|(_, ev)| {
                if ev.is_cancelled() && incremental && !q.show_deleted {
                    ev.tombstone()
                } else {
                    ev.full()
                }
            })
            .collect();
        let mut out = json!({
            "kind": "calendar#events",
            "etag": cal.collection_etag(),
            "summary": cal.id,
            "description": "",
            "updated": super::event_rules::timestamp(cal.updated),
            "timeZone": cal.time_zone,
            "accessRole": "owner",
            "defaultReminders": [],
            "items": items,
        });
        if let Some(obj) = out.as_object_mut() {
            if let (true, Some((key, _))) = (more, page.last()) {
                let token = PageToken {
                    snapshot,
                    epoch,
                    after: key.clone(),
                };
                obj.insert("nextPageToken".to_owned(), json!(token.encode()));
            } else if !(omit_sync_token_with_filters && q.filtered) {
                let token = SyncToken {
                    calendar: cal.id.clone(),
                    epoch,
                    seq: snapshot,
                };
                obj.insert("nextSyncToken".to_owned(), json!(token.encode()));
            }
        }
        Ok(out)
    }

    fn matches_filters(&self, body: &serde_json::Map<String, Value>, q: &ListQuery) -> bool {
        let bounds = bounds_ms(body);
        // timeMin bounds the end and timeMax the start, both exclusively.
        let time_ok = match bounds {
            Some((start, end)) => {
                q.time_min.is_none_or(|min| end > min) && q.time_max.is_none_or(|max| start < max)
            }
            None => q.time_min.is_none() && q.time_max.is_none(),
        };
        let text_ok = q.q.as_ref().is_none_or(|needle| {
            ["summary", "description", "location"].iter().any(|f| {
                body.get(*f)
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.to_lowercase().contains(needle.as_str()))
            })
        });
        let uid_ok = q
            .ical_uid
            .as_ref()
            .is_none_or(|uid| body.get("iCalUID").and_then(Value::as_str) == Some(uid.as_str()));
        time_ok
            && text_ok
            && uid_ok
            && properties_match(body, "private", &q.private_props)
            && properties_match(body, "shared", &q.shared_props)
    }
}

/// Key that orders the listing; ties are broken by id so keys are unique.
fn sort_key(id: &str, body: &serde_json::Map<String, Value>, order: Option<OrderBy>) -> String {
    match order {
        None => id.to_owned(),
        Some(OrderBy::Updated) => {
            let updated = body.get("updated").and_then(Value::as_str).unwrap_or("");
            format!("{updated}|{id}")
        }
        Some(OrderBy::StartTime) => {
            // Shift so that pre-1970 instants still sort correctly as zero-padded text.
            let start = bounds_ms(body).map_or(0, |(s, _)| s);
            let shifted = i128::from(start) + i128::from(i64::MAX);
            format!("{shifted:020}|{id}")
        }
    }
}
