//! Read-back of everything the emulator saw and did: each request to the Google-facing
//! endpoints (with the status it was answered with) and each notification delivery attempt.
//! Tests assert on these the way they would assert on a mock's expectations.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::state::lock;

/// One request received on the Google-facing endpoints (OAuth and Calendar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path without the query, e.g. `/calendar/v3/calendars/primary/events`.
    pub path: String,
    /// Raw query string (still percent-encoded), empty when absent.
    pub query: String,
    /// Request headers in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Request body as text (lossy UTF-8).
    pub body: String,
    /// Status the emulator answered with.
    pub status: u16,
    /// When the request arrived.
    pub at: DateTime<Utc>,
}

impl RecordedRequest {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The decoded query parameters, repeated keys kept.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DeliveryOutcome {
    /// The receiver answered with this status.
    Status {
        /// HTTP status.
        status: u16,
    },
    /// The receiver could not be reached or timed out.
    TransportError {
        /// Error text.
        error: String,
    },
    /// Discarded by the drop test knob; nothing was sent.
    Dropped,
}

/// One notification delivery attempt (or a dropped notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveredNotification {
    /// `X-Goog-Channel-ID`.
    pub channel_id: String,
    /// Watched calendar.
    pub calendar_id: String,
    /// Receiving URL.
    pub address: String,
    /// `X-Goog-Message-Number`.
    pub message_number: u64,
    /// `X-Goog-Resource-State`.
    pub resource_state: String,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    /// The answer, or why there was none.
    pub outcome: DeliveryOutcome,
    /// Headers sent.
    pub headers: Vec<(String, String)>,
    /// When the attempt finished.
    pub at: DateTime<Utc>,
}

impl DeliveredNotification {
    /// The receiver's status, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            DeliveryOutcome::Status { status } => Some(status),
            _ => None,
        }
    }

    /// The header sent with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A place in the delivery log, taken when an attempt is decided (before anything is sent)
/// and filled with the attempt's outcome once it is known.
#[derive(Debug)]
pub(crate) struct DeliverySlot(u64);

/// The delivery log. Entries are kept in the order their slots were taken; an entry is `None`
/// while its attempt waits for the receiver's answer.
#[derive(Debug, Default)]
struct DeliveryLog {
    next_slot: u64,
    entries: Vec<(u64, Option<DeliveredNotification>)>,
}

/// Append-only logs of requests and deliveries.
#[derive(Debug, Default)]
pub struct Recorder {
    requests: Mutex<Vec<RecordedRequest>>,
    notifications: Mutex<DeliveryLog>,
    /// Messages queued for delivery whose every attempt (retries included) is not over yet.
    in_flight: std::sync::atomic::AtomicUsize,
}

impl Recorder {
    pub(crate) fn message_queued(&self) {
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn message_done(&self) {
        self.in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Messages still being delivered: queued, waiting to be sent, in flight, or waiting for a
    /// retry. A test waiting for quiet waits for this to reach 0.
    pub fn messages_in_flight(&self) -> usize {
        self.in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn record_request(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
    }

    /// Takes the next place in the delivery log for an attempt about to be made.
    ///
    /// The log is ordered by these places, not by when receivers answer: an attempt decided
    /// first is listed first even if its receiver is the slower one.
    pub(crate) fn reserve_notification(&self) -> DeliverySlot {
        let mut log = lock(&self.notifications);
        let slot = log.next_slot;
        log.next_slot += 1;
        log.entries.push((slot, None));
        DeliverySlot(slot)
    }

    /// Fills a place taken with [`Self::reserve_notification`] with the attempt's outcome.
    pub(crate) fn fill_notification(&self, slot: DeliverySlot, note: DeliveredNotification) {
        let mut log = lock(&self.notifications);
        match log.entries.binary_search_by_key(&slot.0, |(s, _)| *s) {
            Ok(i) => log.entries[i].1 = Some(note),
            // `clear` keeps places still in flight, so this is not expected; keep the order.
            Err(i) => log.entries.insert(i, (slot.0, Some(note))),
        }
    }

    /// Records an attempt whose outcome is known as soon as it is decided (a dropped message).
    pub(crate) fn record_notification(&self, note: DeliveredNotification) {
        let slot = self.reserve_notification();
        self.fill_notification(slot, note);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    /// Every delivery attempt that has an outcome, in the order the attempts were decided
    /// (not the order receivers answered in). An attempt still waiting for its receiver is
    /// left out until it has an answer, and then appears in its place.
    pub fn notifications(&self) -> Vec<DeliveredNotification> {
        lock(&self.notifications)
            .entries
            .iter()
            .filter_map(|(_, note)| note.clone())
            .collect()
    }

    /// Forgets both logs. Attempts still in flight are recorded when they finish.
    pub fn clear(&self) {
        lock(&self.requests).clear();
        lock(&self.notifications)
            .entries
            .retain(|(_, note)| note.is_none());
    }

    /// Polls the delivery log until `done` holds or `timeout` passes.
    ///
    /// Returns the log in both cases; `Err` means the timeout passed first.
    pub async fn wait_for_notifications(
        &self,
        done: impl Fn(&[DeliveredNotification]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<DeliveredNotification>, Vec<DeliveredNotification>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let log = self.notifications();
            if done(&log) {
                return Ok(log);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(log);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
