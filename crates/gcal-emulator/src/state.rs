//! The state shared by the HTTP handlers and the library control functions.
//!
//! Locks are `std::sync::Mutex`es held only for synchronous work; nothing awaits while holding
//! one. A poisoned lock (a panic in another handler) is recovered rather than propagated: the
//! emulator's data stays usable for the rest of the test, which then fails on its own terms.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use super::EmulatorUrls;
use super::config::EmulatorConfig;
use super::faults::Faults;
use super::idtoken::IdTokenSigner;
use super::notify::Notifier;
use super::quota::Quota;
use super::recorder::Recorder;
use super::store::Store;

/// Locks a mutex, recovering from poisoning.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Everything behind the emulator's endpoints.
#[derive(Debug)]
pub struct Shared {
    pub(crate) config: EmulatorConfig,
    pub(crate) urls: EmulatorUrls,
    pub(crate) store: Mutex<Store>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) quota: Mutex<Quota>,
    pub(crate) signer: IdTokenSigner,
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) notifier: Notifier,
    /// `EmulatorConfig::api_latency`, changeable while running.
    pub(crate) latency: Mutex<Option<(std::time::Duration, std::time::Duration)>>,
}

impl Shared {
    /// The store, locked.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// The emulator's clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Runs a write on a calendar and, if it succeeds, notifies the calendar's live channels.
    ///
    /// The messages are numbered and handed to the notifier under the same lock as the write,
    /// so their numbers and their places in the delivery log follow the order of the changes.
    pub fn write<T, E>(
        &self,
        calendar_id: &str,
        f: impl FnOnce(&mut Store, DateTime<Utc>) -> Result<T, E>,
    ) -> Result<T, E> {
        let now = self.now();
        let mut store = self.store();
        let out = f(&mut store, now)?;
        let deliveries = store.plan_exists(calendar_id, now, self.config.message_number_step);
        // Synchronous (a channel send and the log's lock): nothing awaits under the store lock.
        self.notifier.send(deliveries);
        Ok(out)
    }
}
