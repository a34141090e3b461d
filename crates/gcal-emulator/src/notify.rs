//! Delivery of push notifications. Messages are numbered under the store lock (so numbering
//! follows commit order) and then handed over a channel to a dispatcher task that runs on the
//! runtime that started the emulator; each message gets its own task there, so one slow
//! receiver never holds up another.
//!
//! Each attempt takes its place in the delivery log when it is decided: a message's first
//! attempt (or its drop) when it is handed over, under the store lock; a retry, a delayed or a
//! duplicated attempt when it starts. The log's order therefore follows the changes, never
//! the receivers' response times.
//!
//! A message is POSTed with an empty body and every `X-Goog-*` header Google sends. Only 500,
//! 502, 503 and 504 are retried, after the configured delays; 200, 201, 202, 204 and 102 are
//! success and any other status is a permanent failure, as Google documents.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use super::recorder::{DeliveredNotification, DeliveryOutcome, DeliverySlot, Recorder};
use super::state::lock;
use super::store::Delivery;

/// User agent Google's push infrastructure uses (as captured in real traffic).
const USER_AGENT: &str =
    "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)";

/// What happens to the notifications produced from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotificationMode {
    /// Deliver each message once (with retries).
    #[default]
    Normal,
    /// Deliver nothing; each message is logged as dropped.
    Drop,
    /// Wait this long before the first attempt.
    Delay(Duration),
    /// Deliver each message twice, with the same message number (redelivery).
    Duplicate,
}

/// Settings a delivery task needs.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Waits between attempts; one retry per entry.
    pub retry_delays: Vec<Duration>,
    /// Whether connection failures are retried like 5xx.
    pub retry_transport_errors: bool,
}

/// A message for the dispatcher: what to send, how, and the log place of its first attempt
/// when that attempt was decided at hand-over.
#[derive(Debug)]
pub struct Job {
    delivery: Delivery,
    mode: NotificationMode,
    first_slot: Option<DeliverySlot>,
}

/// Hands numbered messages to the dispatcher, applying the current mode.
#[derive(Debug)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Job>,
    mode: Mutex<NotificationMode>,
    recorder: Arc<Recorder>,
}

impl Notifier {
    /// Creates the notifier and the receiving end for [`run_dispatcher`].
    pub fn new(recorder: Arc<Recorder>) -> (Self, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let notifier = Self {
            tx,
            mode: Mutex::new(NotificationMode::Normal),
            recorder,
        };
        (notifier, rx)
    }

    /// Changes the mode for messages produced from now on.
    pub fn set_mode(&self, mode: NotificationMode) {
        *lock(&self.mode) = mode;
    }

    /// Queues messages for delivery. A dropped message is logged here and now; a message sent
    /// at once takes its log place here, before any later message can.
    pub fn send(&self, deliveries: Vec<Delivery>) {
        let mode = *lock(&self.mode);
        for delivery in deliveries {
            let first_slot = match mode {
                NotificationMode::Drop => {
                    self.recorder.record_notification(note(
                        &delivery,
                        0,
                        DeliveryOutcome::Dropped,
                        Vec::new(),
                    ));
                    continue;
                }
                NotificationMode::Normal | NotificationMode::Duplicate => {
                    Some(self.recorder.reserve_notification())
                }
                // Its place is taken when the wait is over, like any later attempt.
                NotificationMode::Delay(_) => None,
            };
            self.recorder.message_queued();
            // A closed channel means the emulator is shutting down; nothing is left to notify.
            if self
                .tx
                .send(Job {
                    delivery,
                    mode,
                    first_slot,
                })
                .is_err()
            {
                self.recorder.message_done();
            }
        }
    }
}

/// Runs until the notifier is dropped, spawning one task per message.
pub async fn run_dispatcher(
    mut rx: mpsc::UnboundedReceiver<Job>,
    client: reqwest::Client,
    settings: DeliverySettings,
    recorder: Arc<Recorder>,
) {
    while let Some(job) = rx.recv().await {
        let client = client.clone();
        let settings = settings.clone();
        let recorder = recorder.clone();
        tokio::spawn(async move {
            let Job {
                delivery,
                mode,
                first_slot,
            } = job;
            let send = |slot| deliver(&client, &delivery, &settings, &recorder, slot);
            match mode {
                // Logged by `Notifier::send`; never queued.
                NotificationMode::Drop => {}
                NotificationMode::Normal => send(first_slot).await,
                NotificationMode::Delay(wait) => {
                    tokio::time::sleep(wait).await;
                    send(first_slot).await;
                }
                NotificationMode::Duplicate => {
                    send(first_slot).await;
                    send(None).await;
                }
            }
            recorder.message_done();
        });
    }
}

fn headers(d: &Delivery) -> Vec<(String, String)> {
    let mut h = vec![
        ("X-Goog-Channel-ID".to_owned(), d.channel_id.clone()),
        (
            "X-Goog-Channel-Expiration".to_owned(),
            d.expiration.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ),
        (
            "X-Goog-Message-Number".to_owned(),
            d.message_number.to_string(),
        ),
        ("X-Goog-Resource-ID".to_owned(), d.resource_id.clone()),
        ("X-Goog-Resource-State".to_owned(), d.state.to_owned()),
        ("X-Goog-Resource-URI".to_owned(), d.resource_uri.clone()),
    ];
    if let Some(token) = &d.token {
        h.push(("X-Goog-Channel-Token".to_owned(), token.clone()));
    }
    // Google's guide shows this exact (odd) content type on the empty body.
    h.push((
        "Content-Type".to_owned(),
        "application/json; utf-8".to_owned(),
    ));
    h.push(("Content-Length".to_owned(), "0".to_owned()));
    h.push(("User-Agent".to_owned(), USER_AGENT.to_owned()));
    h
}

fn note(
    d: &Delivery,
    attempt: u32,
    outcome: DeliveryOutcome,
    headers: Vec<(String, String)>,
) -> DeliveredNotification {
    DeliveredNotification {
        channel_id: d.channel_id.clone(),
        calendar_id: d.calendar_id.clone(),
        address: d.address.clone(),
        message_number: d.message_number,
        resource_state: d.state.to_owned(),
        attempt,
        outcome,
        headers,
        at: Utc::now(),
    }
}

/// One message, with retries. `first_slot` is the log place of the first attempt if it was
/// taken already; every other attempt takes its place as it starts.
async fn deliver(
    client: &reqwest::Client,
    d: &Delivery,
    settings: &DeliverySettings,
    recorder: &Recorder,
    mut first_slot: Option<DeliverySlot>,
) {
    let sent = headers(d);
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let slot = first_slot
            .take()
            .unwrap_or_else(|| recorder.reserve_notification());
        let mut request = client.post(&d.address).body(Vec::<u8>::new());
        for (name, value) in &sent {
            request = request.header(name, value);
        }
        let (outcome, retryable) = match request.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let retryable = matches!(status, 500 | 502 | 503 | 504);
                (DeliveryOutcome::Status { status }, retryable)
            }
            Err(e) => (
                DeliveryOutcome::TransportError {
                    error: e.to_string(),
                },
                settings.retry_transport_errors,
            ),
        };
        recorder.fill_notification(slot, note(d, attempt, outcome, sent.clone()));
        let delay = usize::try_from(attempt - 1)
            .ok()
            .and_then(|i| settings.retry_delays.get(i));
        match (retryable, delay) {
            (true, Some(wait)) => tokio::time::sleep(*wait).await,
            _ => return,
        }
    }
}
