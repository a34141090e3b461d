//! A Google Calendar emulator: OAuth 2.0 and OpenID Connect (a consent page, PKCE-bound codes,
//! id_tokens, userinfo, revocation), scope enforcement, the `calendars`, `calendarList` and
//! `events` endpoints with sync tokens, watch channels with real push notifications, and
//! control functions to act as the user, inject faults and read back what happened.
//!
//! It is an independent implementation of Google's documented (and observed) behaviour, and
//! it depends on nothing of calsync's (it is a crate of its own, so the compiler enforces
//! that): it is how calsync's Google code is checked, so it must not share that code.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gcal_emulator::{Emulator, EmulatorConfig};
//! let emu = Emulator::start(EmulatorConfig::default()).await?;
//! let user = emu.add_user("paralegal@example.com")?;
//! println!("{} {}", emu.urls().api_base, user.refresh_token);
//! # Ok(()) }
//! ```

pub mod config;
pub mod control;
pub mod errors;
pub mod faults;
pub mod notify;
pub mod recorder;

mod auth;
mod calendars;
mod events;
mod gate;
mod idtoken;
mod oauth;
mod quota;
pub mod scopes;
mod server;
mod state;
mod store;
mod watch;

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::web;
use serde::Serialize;
use tokio::task::JoinHandle;

pub use config::{EmulatorConfig, QuotaResponse, SeedUser, TombstoneWrite};
pub use control::{Account, Control, EventInput, EventTime, TestUser};
pub use errors::{ControlError, ErrorDetail, GoogleError, StartError};
pub use faults::{FaultKind, FaultRule};
pub use notify::NotificationMode;
pub use recorder::{DeliveredNotification, DeliveryOutcome, RecordedRequest};
pub use store::{CalendarInfo, Channel, GrantInfo};

use faults::Faults;
use notify::{DeliverySettings, Notifier};
use quota::Quota;
use recorder::Recorder;
use state::Shared;
use store::Store;

/// Where the emulator listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmulatorUrls {
    /// `http://HOST:PORT`.
    pub base: String,
    /// Calendar API base, the stand-in for `https://www.googleapis.com/calendar/v3`.
    pub api_base: String,
    /// Token endpoint, the stand-in for `https://oauth2.googleapis.com/token`.
    pub token_url: String,
    /// Authorization endpoint, the stand-in for `https://accounts.google.com/o/oauth2/v2/auth`.
    pub auth_url: String,
    /// Revocation endpoint, the stand-in for `https://oauth2.googleapis.com/revoke`.
    pub revoke_url: String,
    /// OpenID Connect userinfo endpoint, the stand-in for
    /// `https://openidconnect.googleapis.com/v1/userinfo`.
    pub userinfo_url: String,
    /// The id_token signing keys (JWKS), the stand-in for
    /// `https://www.googleapis.com/oauth2/v3/certs`.
    pub jwks_url: String,
    /// OpenID Connect discovery document, the stand-in for
    /// `https://accounts.google.com/.well-known/openid-configuration`.
    pub discovery_url: String,
    /// Base of the HTTP control API.
    pub control_base: String,
}

impl EmulatorUrls {
    fn new(addr: std::net::SocketAddr) -> Self {
        let base = format!("http://{addr}");
        Self {
            api_base: format!("{base}{}", server::API_PREFIX),
            token_url: format!("{base}{}", server::TOKEN_PATH),
            auth_url: format!("{base}{}", server::AUTH_PATH),
            revoke_url: format!("{base}{}", server::REVOKE_PATH),
            userinfo_url: format!("{base}{}", server::USERINFO_PATH),
            jwks_url: format!("{base}{}", server::JWKS_PATH),
            discovery_url: format!("{base}{}", server::DISCOVERY_PATH),
            control_base: format!("{base}{}", server::CONTROL_PREFIX),
            base,
        }
    }
}

/// A running emulator. Dropping it stops the server; [`Emulator::stop`] also waits for that.
///
/// It dereferences to its [`Control`] handle, so `emu.add_user(..)` works directly.
#[derive(Debug)]
pub struct Emulator {
    control: Control,
    seeded: Vec<TestUser>,
    server: ServerHandle,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Emulator {
    /// Binds `config.bind` (port 0 picks a free port), seeds the configured users and starts
    /// serving on the current tokio runtime. Notifications are delivered from this runtime too.
    pub async fn start(config: EmulatorConfig) -> Result<Self, StartError> {
        if config.message_number_step.0 == 0
            || config.message_number_step.0 > config.message_number_step.1
        {
            return Err(StartError::Config(
                "message_number_step must be (min, max) with 1 <= min <= max".to_owned(),
            ));
        }
        let bind_addr = config.bind.clone();
        let bind_err = |source| StartError::Bind {
            addr: bind_addr.clone(),
            source,
        };
        let listener = std::net::TcpListener::bind(&config.bind).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let client = reqwest::Client::builder()
            .timeout(config.notification_timeout)
            .build()?;
        let settings = DeliverySettings {
            retry_delays: config.notification_retry_delays.clone(),
            retry_transport_errors: config.retry_transport_errors,
        };
        let recorder = Arc::new(Recorder::default());
        let (notifier, rx) = Notifier::new(recorder.clone());
        let mut quota = Quota::default();
        quota.set_limit(config.quota_per_user_per_minute);
        let seed = config.users.clone();
        let signer = idtoken::IdTokenSigner::new().map_err(StartError::Config)?;
        let mut store = Store::default();
        store.add_client(
            &config.client_id,
            &config.client_secret,
            &config.redirect_uris,
        );
        let config_latency = config.api_latency;
        let shared = web::Data::new(Shared {
            urls: EmulatorUrls::new(addr),
            config,
            store: Mutex::new(store),
            faults: Mutex::new(Faults::default()),
            quota: Mutex::new(quota),
            signer,
            recorder: recorder.clone(),
            notifier,
            latency: Mutex::new(config_latency),
        });
        let control = Control {
            shared: shared.clone(),
        };
        let seeded = seed
            .iter()
            .map(|user| {
                control
                    .add_user_with_refresh_token(&user.email, user.refresh_token.as_deref())
                    .map_err(|e| StartError::Config(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let dispatcher = tokio::spawn(notify::run_dispatcher(rx, client, settings, recorder));
        let server = server::build(listener, shared, 2).map_err(bind_err)?;
        let handle = server.handle();
        let server_task = tokio::spawn(async move {
            if let Err(e) = server.await {
                log::error!("emulator server stopped with an error: {e}");
            }
        });
        Ok(Self {
            control,
            seeded,
            server: handle,
            tasks: Mutex::new(vec![dispatcher, server_task]),
        })
    }

    /// The emulator's URLs.
    pub fn urls(&self) -> &EmulatorUrls {
        &self.control.shared.urls
    }

    /// The users created from `EmulatorConfig::users`, with their refresh tokens.
    pub fn seeded_users(&self) -> &[TestUser] {
        &self.seeded
    }

    /// A cloneable handle on the control functions.
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

impl Deref for Emulator {
    type Target = Control;

    fn deref(&self) -> &Control {
        &self.control
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // `stop` sends the command synchronously; awaiting it only waits for completion.
        drop(self.server.stop(false));
        for task in state::lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}
