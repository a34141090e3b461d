//! Calendar API v3 calls, each taking the caller's access token. Base URL from configuration.

use reqwest::header::{HeaderMap, HeaderValue, IF_MATCH};
use reqwest::{Method, RequestBuilder, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{GoogleError, classify, exchange};
use super::types::{Calendar, Event, EventsPage, WatchChannel};

/// Parameters of events.list. Incremental and full syncs must send the same parameters apart
/// from `sync_token` (Google: anything else is "undefined behaviour"), so this carries none of
/// the filters that are forbidden with a sync token.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub sync_token: Option<String>,
    pub page_token: Option<String>,
    pub max_results: Option<u32>,
}

/// What events.watch is asked for.
#[derive(Debug, Clone, Serialize)]
pub struct WatchRequest {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub address: String,
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<WatchParams>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WatchParams {
    /// Requested lifetime in seconds (Google clamps it; trust the returned expiration).
    pub ttl: String,
}

/// A cheap-to-clone client for the Calendar API.
#[derive(Clone)]
pub struct CalendarApi {
    http: reqwest::Client,
    base: Url,
    max_body: usize,
}

impl CalendarApi {
    /// `base` is e.g. `https://www.googleapis.com/calendar/v3`; no response body longer than
    /// `max_body` bytes is read.
    pub fn new(
        http: reqwest::Client,
        base: &str,
        max_body: usize,
    ) -> Result<Self, url::ParseError> {
        let mut base = Url::parse(base)?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self {
            http,
            base,
            max_body,
        })
    }

    /// The base URL joined with percent-encoded path segments.
    fn url(&self, segments: &[&str]) -> Result<Url, GoogleError> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| GoogleError::Decode("API base URL cannot take a path".into()))?;
            path.pop_if_empty();
            path.extend(segments);
        }
        Ok(url)
    }

    fn events_url(&self, calendar_id: &str, rest: &[&str]) -> Result<Url, GoogleError> {
        let mut segments = vec!["calendars", calendar_id, "events"];
        segments.extend_from_slice(rest);
        self.url(&segments)
    }

    pub async fn list_events(
        &self,
        token: &str,
        calendar_id: &str,
        query: &ListQuery,
    ) -> Result<EventsPage, GoogleError> {
        let mut url = self.events_url(calendar_id, &[])?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(t) = &query.sync_token {
                q.append_pair("syncToken", t);
            }
            if let Some(t) = &query.page_token {
                q.append_pair("pageToken", t);
            }
            if let Some(n) = query.max_results {
                q.append_pair("maxResults", &n.to_string());
            }
        }
        let response = self.send(self.http.get(url).bearer_auth(token)).await?;
        decode(&response)
    }

    pub async fn get_event(
        &self,
        token: &str,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<Event, GoogleError> {
        let url = self.events_url(calendar_id, &[event_id])?;
        decode(&self.send(self.http.get(url).bearer_auth(token)).await?)
    }

    pub async fn insert_event(
        &self,
        token: &str,
        calendar_id: &str,
        event: &Event,
    ) -> Result<Event, GoogleError> {
        let url = self.events_url(calendar_id, &[])?;
        decode(
            &self
                .send(self.http.post(url).bearer_auth(token).json(event))
                .await?,
        )
    }

    /// Patches only the fields set in `changes`; with `if_match`, fails with
    /// `PreconditionFailed` when the event changed since that etag.
    pub async fn patch_event(
        &self,
        token: &str,
        calendar_id: &str,
        event_id: &str,
        changes: &Event,
        if_match: Option<&str>,
    ) -> Result<Event, GoogleError> {
        let url = self.events_url(calendar_id, &[event_id])?;
        let request = self
            .http
            .request(Method::PATCH, url)
            .bearer_auth(token)
            .headers(if_match_header(if_match)?)
            .json(changes);
        decode(&self.send(request).await?)
    }

    /// Deletes an event. A 410 of any kind means it is already gone (`AlreadyDeleted`).
    pub async fn delete_event(
        &self,
        token: &str,
        calendar_id: &str,
        event_id: &str,
        if_match: Option<&str>,
    ) -> Result<(), GoogleError> {
        let url = self.events_url(calendar_id, &[event_id])?;
        let request = self
            .http
            .delete(url)
            .bearer_auth(token)
            .headers(if_match_header(if_match)?);
        match self.send(request).await {
            Ok(_) => Ok(()),
            Err(GoogleError::SyncTokenGone) => Err(GoogleError::AlreadyDeleted),
            Err(e) => Err(e),
        }
    }

    pub async fn watch(
        &self,
        token: &str,
        calendar_id: &str,
        request: &WatchRequest,
    ) -> Result<WatchChannel, GoogleError> {
        let url = self.events_url(calendar_id, &["watch"])?;
        decode(
            &self
                .send(self.http.post(url).bearer_auth(token).json(request))
                .await?,
        )
    }

    /// channels.stop. Google answers 404 for a channel it no longer knows.
    pub async fn stop_channel(
        &self,
        token: &str,
        channel_id: &str,
        resource_id: &str,
    ) -> Result<(), GoogleError> {
        let url = self.url(&["channels", "stop"])?;
        let body = serde_json::json!({ "id": channel_id, "resourceId": resource_id });
        self.send(self.http.post(url).bearer_auth(token).json(&body))
            .await?;
        Ok(())
    }

    /// calendars.insert: a new secondary calendar owned by the user.
    pub async fn insert_calendar(
        &self,
        token: &str,
        calendar: &Calendar,
    ) -> Result<Calendar, GoogleError> {
        let url = self.url(&["calendars"])?;
        decode(
            &self
                .send(self.http.post(url).bearer_auth(token).json(calendar))
                .await?,
        )
    }

    /// calendars.get (`primary` works).
    pub async fn get_calendar(
        &self,
        token: &str,
        calendar_id: &str,
    ) -> Result<Calendar, GoogleError> {
        let url = self.url(&["calendars", calendar_id])?;
        decode(&self.send(self.http.get(url).bearer_auth(token)).await?)
    }

    /// calendars.patch: only the fields set in `changes`.
    pub async fn patch_calendar(
        &self,
        token: &str,
        calendar_id: &str,
        changes: &Calendar,
    ) -> Result<Calendar, GoogleError> {
        let url = self.url(&["calendars", calendar_id])?;
        decode(
            &self
                .send(
                    self.http
                        .request(Method::PATCH, url)
                        .bearer_auth(token)
                        .json(changes),
                )
                .await?,
        )
    }

    /// calendars.delete (a secondary calendar, with its events).
    pub async fn delete_calendar(&self, token: &str, calendar_id: &str) -> Result<(), GoogleError> {
        let url = self.url(&["calendars", calendar_id])?;
        self.send(self.http.delete(url).bearer_auth(token)).await?;
        Ok(())
    }

    /// calendarList.get: the user's entry for a calendar (its name and time zone).
    pub async fn get_calendar_list_entry(
        &self,
        token: &str,
        calendar_id: &str,
    ) -> Result<Calendar, GoogleError> {
        let url = self.url(&["users", "me", "calendarList", calendar_id])?;
        decode(&self.send(self.http.get(url).bearer_auth(token)).await?)
    }

    /// Sends the request; a non-2xx answer becomes the classified error.
    async fn send(&self, request: RequestBuilder) -> Result<bytes::Bytes, GoogleError> {
        let (status, headers, body) = exchange(request, self.max_body).await?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(classify(status, &headers, &body))
        }
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, GoogleError> {
    serde_json::from_slice(body).map_err(|e| GoogleError::Decode(e.to_string()))
}

fn if_match_header(etag: Option<&str>) -> Result<HeaderMap, GoogleError> {
    let mut headers = HeaderMap::new();
    if let Some(etag) = etag {
        let value = HeaderValue::from_str(etag)
            .map_err(|_| GoogleError::Decode("etag is not a valid header value".into()))?;
        headers.insert(IF_MATCH, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_ids_are_percent_encoded_as_path_segments() {
        let api = CalendarApi::new(
            reqwest::Client::new(),
            "http://127.0.0.1:1/calendar/v3",
            1024,
        )
        .unwrap();
        let url = api.events_url("team@example.com", &["abc/def"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/calendar/v3/calendars/team@example.com/events/abc%2Fdef"
        );
        let stop = api.url(&["channels", "stop"]).unwrap();
        assert_eq!(
            stop.as_str(),
            "http://127.0.0.1:1/calendar/v3/channels/stop"
        );
    }
}
