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
use super::oauth::Consent;
use super::recorder::{DeliveredNotification, RecordedRequest};
use super::state::{Shared, lock};
use super::store::Channel;

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
            &cfg.default_scope,
            &cfg.calendar_time_zone,
            self.shared.now(),
        )?;
        Ok(TestUser {
            email: email.to_owned(),
            refresh_token: token,
            calendar_id: email.to_owned(),
        })
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

    /// Expires every access token issued so far.
    pub fn expire_access_tokens(&self) {
        let now = self.shared.now();
        self.shared.store().expire_access_tokens(now);
    }

    /// Sets who the authorization endpoint consents as, and whether it refuses.
    pub fn set_consent(&self, consenting_user: Option<&str>, deny: bool) {
        *lock(&self.shared.consent) = Consent {
            user: consenting_user.map(str::to_owned),
            deny,
        };
    }

    /// Fails the next matching requests.
    pub fn inject_fault(&self, rule: FaultRule) {
        lock(&self.shared.faults).add(rule);
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
