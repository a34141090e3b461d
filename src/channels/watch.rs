//! Watching a calendar: events.watch with a new channel id, then the channel row, then a
//! sync run. Watching before syncing is what keeps every change: changes before the sync run's listing
//! are in it, and changes after the watch produce notifications (Google's guide allows this
//! order as long as a sync follows the watch). A re-watch of a calendar keeps its sync token,
//! so the run is incremental; the replaced channel is stopped at Google.

use std::time::Duration;

use crate::account::{AccountError, UserSession};
use crate::config::WatchConfig;
use crate::db::DbError;
use crate::db::models::calendar_channel::{
    self, CalendarChannel, NewCalendarChannel, generate_channel_id,
};
use crate::db::models::{case, outbox};
use crate::google::{WatchParams, WatchRequest};
use crate::ids::UserId;
use crate::inbound::{SyncContext, SyncError, SyncOutcome, sync_channel};
use crate::retry::{Classify, Failure};

/// Where notifications go and how long to ask Google to keep the channel.
#[derive(Debug, Clone)]
pub struct WatchTarget {
    /// The full notification address, e.g. `https://calsync.example.com/api/webhooks/google-calendar`.
    pub address: String,
    /// Requested lifetime; Google may shorten it (the returned expiration is what is stored).
    pub ttl: Option<Duration>,
}

impl WatchTarget {
    /// `WEBHOOK_PUBLIC_URL`'s notification address, with the configured channel lifetime.
    pub fn from_config(config: &WatchConfig) -> Self {
        Self {
            address: config.notification_address(),
            ttl: Some(config.channel_ttl),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    #[error("Google refused or failed the request: {0}")]
    Google(#[from] AccountError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the channel was created but its first sync failed: {0}")]
    FirstSync(#[from] SyncError),
}

impl Classify for WatchError {
    fn classify(&self) -> Failure {
        match self {
            Self::Google(e) => e.classify(),
            Self::Db(e) => e.classify(),
            Self::FirstSync(e) => e.classify(),
        }
    }
}

/// Watches `calendar_id` of `user_id`, runs the first sync and queues the user's open cases
/// for the outbound push. `token_for` gives the channel
/// token Google will echo in every notification for a channel id.
pub async fn watch_calendar(
    ctx: &SyncContext,
    user_id: UserId,
    calendar_id: &str,
    target: &WatchTarget,
    token_for: impl Fn(&str) -> String,
) -> Result<(CalendarChannel, SyncOutcome), WatchError> {
    let cal = calendar_id.to_owned();
    let previous = ctx
        .db
        .run(move |conn| {
            Ok::<_, DbError>(calendar_channel::find_for_calendar(conn, user_id, &cal)?)
        })
        .await?;
    let channel_id = generate_channel_id();
    let request = WatchRequest {
        id: channel_id.clone(),
        kind: "web_hook",
        address: target.address.clone(),
        token: token_for(&channel_id),
        params: target.ttl.map(|ttl| WatchParams {
            ttl: ttl.as_secs().to_string(),
        }),
    };
    let mut session = ctx.google.session(user_id);
    let created = session.watch(calendar_id, &request).await?;
    let cal = calendar_id.to_owned();
    let channel = ctx
        .db
        .run(move |conn| {
            Ok::<_, DbError>(calendar_channel::upsert(
                conn,
                &NewCalendarChannel {
                    user_id,
                    calendar_id: &cal,
                    channel_id: &created.id,
                    resource_id: &created.resource_id,
                    resource_uri: created.resource_uri.as_deref(),
                    sync_token: None,
                    expiration_timestamp: created.expiration,
                },
            )?)
        })
        .await?;
    if let Some(old) = previous.filter(|old| old.channel_id != channel.channel_id) {
        stop_at_google(&mut session, &old.channel_id, &old.resource_id).await;
    }
    let outcome = first_sync(ctx, &channel.channel_id).await?;
    // The calendar gets every deadline of the user's open cases: their outbox rows were
    // dropped while no calendar was watched. Queued after the first sync, so the push sees
    // the links that sync reconciled; the outbox sweep picks them up.
    ctx.db
        .run(move |conn| {
            let open = case::open_case_ids(conn, user_id)?;
            Ok::<_, DbError>(outbox::enqueue_cases(conn, user_id, &open)?)
        })
        .await?;
    Ok((channel, outcome))
}

/// Longest a watch waits for another run's sync of the same calendar (a notification's, or
/// the backstop's) before its own first sync, which it then reports as busy.
const FIRST_SYNC_WAIT: Duration = Duration::from_secs(5);

/// The first sync of a new channel. Another run may hold the calendar's lease at that moment
/// (a sync of the same calendar): its turn is short, so the watch waits for it rather than
/// failing a watch that went through.
async fn first_sync(ctx: &SyncContext, channel_id: &str) -> Result<SyncOutcome, SyncError> {
    let deadline = tokio::time::Instant::now() + FIRST_SYNC_WAIT;
    loop {
        match sync_channel(ctx, channel_id).await {
            Err(SyncError::Busy) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// Best effort: a replaced channel dies at its expiration anyway, and its notifications name
/// a channel calsync no longer has.
pub(super) async fn stop_at_google(session: &mut UserSession, channel_id: &str, resource_id: &str) {
    if let Err(e) = session.stop_channel(channel_id, resource_id).await {
        log::warn!("could not stop replaced channel {channel_id} at Google: {e}");
    }
}
