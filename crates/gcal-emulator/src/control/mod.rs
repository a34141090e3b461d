//! The control functions: what a test (or a demo, through [`http`]) does to the emulated Google
//! besides calling its API. Acting as the user changes events exactly as the API would (same
//! validation, etags, change log and notifications) but is not recorded as a request and does
//! not pass faults, auth or quota.

pub mod http;
mod input;

use std::time::Duration;

use actix_web::web;
use serde::Serialize;
use serde_json::{Value, json};

pub use input::{EventInput, EventTime};

use super::config::TombstoneWrite;
use super::errors::ControlError;
use super::faults::FaultRule;
use super::notify::NotificationMode;
use super::recorder::{DeliveredNotification, RecordedRequest};
use super::state::{Shared, lock};
use super::store::{CalendarInfo, Channel, GrantInfo, parse_configured_scope};

/// A user added to the emulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestUser {
    /// Email address.
    pub email: String,
    /// A refresh token of a live grant for the configured client.
    pub refresh_token: String,
    /// Id of the primary calendar (the email).
    pub calendar_id: String,
}

/// A Google account of the emulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Email address.
    pub email: String,
    /// The stable account id (`sub` in id_tokens and userinfo): 21 digits, derived from the
    /// email, so it is the same across emulator restarts.
    pub sub: String,
    /// Id of the primary calendar.
    pub primary_calendar: String,
    /// Time zone of the primary calendar.
    pub time_zone: String,
}

/// A cheap, cloneable handle on the emulator's control functions.
#[derive(Debug, Clone)]
pub struct Control {
    pub(crate) shared: web::Data<Shared>,
}

impl Control {
    /// Adds a user with a primary calendar and a grant with a random refresh token.
    pub fn add_user(&self, email: &str) -> Result<TestUser, ControlError> {
        self.add_user_with_refresh_token(email, None)
    }

    /// Adds a user whose grant has the given refresh token (random when `None`).
    pub fn add_user_with_refresh_token(
        &self,
        email: &str,
        refresh_token: Option<&str>,
    ) -> Result<TestUser, ControlError> {
        let cfg = &self.shared.config;
        let token = self.shared.store().add_user(
            email,
            refresh_token.map(str::to_owned),
            &cfg.client_id,
            parse_configured_scope(&cfg.default_scope),
            &cfg.calendar_time_zone,
            self.shared.now(),
        )?;
        Ok(TestUser {
            email: email.to_owned(),
            refresh_token: token,
            calendar_id: email.to_owned(),
        })
    }

    /// Adds a Google account (with its primary calendar) that has granted nothing yet: a
    /// user about to go through the consent flow.
    pub fn add_account(&self, email: &str) -> Result<Account, ControlError> {
        let now = self.shared.now();
        self.shared
            .store()
            .add_account(email, &self.shared.config.calendar_time_zone, now)?;
        self.account(email)
    }

    /// The user creates an event. Returns the event as `events.get` would.
    pub fn user_create_event(
        &self,
        calendar_id: &str,
        input: &EventInput,
    ) -> Result<Value, ControlError> {
        self.user_create_event_json(calendar_id, input.to_json())
    }

    /// The user creates an event given as Event JSON.
    pub fn user_create_event_json(
        &self,
        calendar_id: &str,
        event: Value,
    ) -> Result<Value, ControlError> {
        self.known_calendar(calendar_id)?;
        self.shared.write(calendar_id, |store, now| {
            store
                .insert_event(calendar_id, event, now)
                .map_err(ControlError::from)
        })
    }

    /// The user moves an event to new times.
    pub fn user_move_event(
        &self,
        calendar_id: &str,
        event_id: &str,
        start: &EventTime,
        end: &EventTime,
    ) -> Result<Value, ControlError> {
        self.user_patch(
            calendar_id,
            event_id,
            json!({"start": start.to_json(), "end": end.to_json()}),
        )
    }

    /// The user changes an event's title.
    pub fn user_retitle_event(
        &self,
        calendar_id: &str,
        event_id: &str,
        title: &str,
    ) -> Result<Value, ControlError> {
        self.user_patch(calendar_id, event_id, json!({"summary": title}))
    }

    /// The user deletes an event (it becomes a tombstone).
    pub fn user_delete_event(&self, calendar_id: &str, event_id: &str) -> Result<(), ControlError> {
        self.known_event(calendar_id, event_id)?;
        self.shared.write(calendar_id, |store, now| {
            store
                .delete_event(calendar_id, event_id, None, now)
                .map_err(ControlError::from)
        })
    }

    pub(crate) fn user_patch(
        &self,
        calendar_id: &str,
        event_id: &str,
        patch: Value,
    ) -> Result<Value, ControlError> {
        self.known_event(calendar_id, event_id)?;
        self.shared.write(calendar_id, |store, now| {
            store
                .patch_event(
                    calendar_id,
                    event_id,
                    patch,
                    None,
                    TombstoneWrite::Gone410,
                    now,
                )
                .map_err(ControlError::from)
        })
    }

    fn known_calendar(&self, calendar_id: &str) -> Result<(), ControlError> {
        match self.shared.store().calendar(calendar_id) {
            Some(_) => Ok(()),
            None => Err(ControlError::UnknownCalendar(calendar_id.to_owned())),
        }
    }

    fn known_event(&self, calendar_id: &str, event_id: &str) -> Result<(), ControlError> {
        let store = self.shared.store();
        let cal = store
            .calendar(calendar_id)
            .ok_or_else(|| ControlError::UnknownCalendar(calendar_id.to_owned()))?;
        match cal.events.get(event_id) {
            Some(_) => Ok(()),
            None => Err(ControlError::UnknownEvent(event_id.to_owned())),
        }
    }

    /// The stored event (tombstones included), as `events.get` would return it.
    pub fn event(&self, calendar_id: &str, event_id: &str) -> Option<Value> {
        let store = self.shared.store();
        store
            .calendar(calendar_id)?
            .events
            .get(event_id)
            .map(|e| e.full())
    }

    /// Every event of the calendar (tombstones included), ordered by id.
    pub fn events(&self, calendar_id: &str) -> Vec<Value> {
        let store = self.shared.store();
        store
            .calendar(calendar_id)
            .map(|c| c.events.values().map(|e| e.full()).collect())
            .unwrap_or_default()
    }

    /// Makes every sync token issued so far for the calendar answer 410 `fullSyncRequired`.
    pub fn invalidate_sync_tokens(&self, calendar_id: &str) -> Result<(), ControlError> {
        self.shared.store().invalidate_sync_tokens(calendar_id)
    }

    /// Revokes a grant: its refresh token answers `invalid_grant`, its access tokens 401.
    pub fn revoke_grant(&self, refresh_token: &str) -> Result<(), ControlError> {
        self.shared.store().revoke_grant(refresh_token)
    }

    /// The next `count` code exchanges answer without a refresh token even where one is due,
    /// as Google sometimes does for a client it believes already holds one; a client's
    /// "ask for consent again" path can then be tested.
    pub fn withhold_refresh_tokens(&self, count: u32) {
        self.shared.store().withhold_refresh_tokens(count);
    }

    /// Expires every access token issued so far.
    pub fn expire_access_tokens(&self) {
        let now = self.shared.now();
        self.shared.store().expire_access_tokens(now);
    }

    /// Sets the Google account the browser is "signed in" as: the consent page uses it when
    /// the request has no `login_hint` naming a known account. `None` goes back to the
    /// default (the only account, or a choice on the page when there are several).
    pub fn set_signed_in_user(&self, email: Option<&str>) -> Result<(), ControlError> {
        self.shared.store().set_signed_in_user(email)
    }

    /// Adds an authorized redirect URI to the configured OAuth client.
    pub fn register_redirect_uri(&self, uri: &str) -> Result<(), ControlError> {
        let client = self.shared.config.client_id.clone();
        self.shared.store().register_redirect_uri(&client, uri)
    }

    /// Registers another OAuth client (another app in the user's account), or replaces one.
    pub fn add_client(&self, client_id: &str, client_secret: &str, redirect_uris: &[&str]) {
        let uris: Vec<String> = redirect_uris.iter().map(|u| (*u).to_owned()).collect();
        self.shared
            .store()
            .add_client(client_id, client_secret, &uris);
    }

    /// The account behind an email.
    pub fn account(&self, email: &str) -> Result<Account, ControlError> {
        let store = self.shared.store();
        let user = store
            .user(email)
            .ok_or_else(|| ControlError::UnknownUser(email.to_owned()))?;
        let time_zone = store
            .calendar(&user.primary_calendar)
            .map(|c| c.time_zone.clone())
            .unwrap_or_default();
        Ok(Account {
            email: email.to_owned(),
            sub: user.sub.clone(),
            primary_calendar: user.primary_calendar.clone(),
            time_zone,
        })
    }

    /// What the user has granted each OAuth client: scopes, whether access was revoked, and
    /// the refresh tokens handed out.
    pub fn grants(&self, email: &str) -> Result<Vec<GrantInfo>, ControlError> {
        let store = self.shared.store();
        if store.user(email).is_none() {
            return Err(ControlError::UnknownUser(email.to_owned()));
        }
        Ok(store.grants_of(email))
    }

    /// The user's calendars (primary first), with the OAuth client that created each.
    pub fn calendars(&self, email: &str) -> Result<Vec<CalendarInfo>, ControlError> {
        let store = self.shared.store();
        if store.user(email).is_none() {
            return Err(ControlError::UnknownUser(email.to_owned()));
        }
        Ok(store.calendar_infos(email))
    }

    /// The user creates a secondary calendar in Google's UI (no OAuth client created it).
    /// Returns its id.
    pub fn user_create_calendar(&self, email: &str, summary: &str) -> Result<String, ControlError> {
        let now = self.shared.now();
        let mut store = self.shared.store();
        if store.user(email).is_none() {
            return Err(ControlError::UnknownUser(email.to_owned()));
        }
        let created = store.insert_calendar(email, None, json!({"summary": summary}), now)?;
        Ok(created["id"].as_str().unwrap_or_default().to_owned())
    }

    /// The user deletes a secondary calendar in Google's UI: its events go, its channels stop,
    /// and the API answers 404 for it from now on. The primary calendar is refused, as the API
    /// refuses it.
    pub fn user_delete_calendar(&self, calendar_id: &str) -> Result<(), ControlError> {
        self.known_calendar(calendar_id)?;
        Ok(self.shared.store().delete_calendar(calendar_id)?)
    }

    /// The user renames a calendar in Google's UI.
    pub fn user_rename_calendar(
        &self,
        calendar_id: &str,
        summary: &str,
    ) -> Result<(), ControlError> {
        self.known_calendar(calendar_id)?;
        let now = self.shared.now();
        self.shared
            .store()
            .write_calendar(calendar_id, json!({"summary": summary}), false, now)?;
        Ok(())
    }

    /// Sets the time zone of the user's primary calendar (what `calendarList.get("primary")`
    /// and `calendars.get("primary")` report, and the default zone of new calendars).
    pub fn set_primary_time_zone(&self, email: &str, time_zone: &str) -> Result<(), ControlError> {
        let now = self.shared.now();
        let mut store = self.shared.store();
        let primary = store
            .user(email)
            .map(|u| u.primary_calendar.clone())
            .ok_or_else(|| ControlError::UnknownUser(email.to_owned()))?;
        store.write_calendar(&primary, json!({"timeZone": time_zone}), false, now)?;
        Ok(())
    }

    /// Fails the next matching requests.
    pub fn inject_fault(&self, rule: FaultRule) {
        lock(&self.shared.faults).add(rule);
    }

    /// Makes every Google-facing request take between `min` and `max` (`None`: at once); see
    /// `EmulatorConfig::api_latency`.
    pub fn set_api_latency(&self, latency: Option<(std::time::Duration, std::time::Duration)>) {
        *lock(&self.shared.latency) = latency;
    }

    /// Removes all pending faults.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Drops, delays or duplicates notifications produced from now on.
    pub fn set_notification_mode(&self, mode: NotificationMode) {
        self.shared.notifier.set_mode(mode);
    }

    /// Enforces (or with `None` lifts) a per-user requests-per-minute quota.
    pub fn set_quota(&self, per_user_per_minute: Option<u32>) {
        lock(&self.shared.quota).set_limit(per_user_per_minute);
    }

    /// Every request received on the Google-facing endpoints, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.requests()
    }

    /// Every notification delivery attempt (and dropped notification), oldest first.
    pub fn notifications(&self) -> Vec<DeliveredNotification> {
        self.shared.recorder.notifications()
    }

    /// Forgets recorded requests and notifications.
    pub fn clear_records(&self) {
        self.shared.recorder.clear();
    }

    /// Notifications still being delivered (queued, delayed, in flight or awaiting a retry).
    pub fn notifications_in_flight(&self) -> usize {
        self.shared.recorder.messages_in_flight()
    }

    /// Waits until `done` holds for the notification log, or `timeout` passes.
    ///
    /// Returns the log; `Err` carries it when the timeout passed first.
    pub async fn wait_for_notifications(
        &self,
        done: impl Fn(&[DeliveredNotification]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<DeliveredNotification>, Vec<DeliveredNotification>> {
        self.shared
            .recorder
            .wait_for_notifications(done, timeout)
            .await
    }

    /// Every watch channel ever created.
    pub fn channels(&self) -> Vec<Channel> {
        self.shared.store().channels()
    }
}
