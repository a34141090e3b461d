//! Knobs of the emulator. Defaults follow Google where Google documents a value; where the
//! reference (`gcal-api.md`) marks a behaviour UNCONFIRMED, the default is its best guess and the
//! field says so, so a test can switch to the other plausible behaviour.

use std::time::Duration;

/// How the emulator is set up. `EmulatorConfig::default()` suits tests; the standalone
/// `gcal-emulator` binary uses slower, Google-like retry delays.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to bind; port 0 picks a free port.
    pub bind: String,
    /// The only OAuth client the token endpoint accepts.
    pub client_id: String,
    /// Secret of `client_id`.
    pub client_secret: String,
    /// Authorized redirect URIs of `client_id`. The authorization endpoint answers an error
    /// page, not a redirect, for any other `redirect_uri` (exact match, as at Google). More can
    /// be added at run time with `Control::register_redirect_uri`.
    pub redirect_uris: Vec<String>,
    /// Lifetime of authorization codes (Google: about ten minutes).
    pub auth_code_lifetime: Duration,
    /// `iss` of issued id_tokens and the discovery document. Google's value by default, so
    /// code that checks the issuer runs unchanged against the emulator.
    pub id_token_issuer: String,
    /// Lifetime of issued access tokens. `expires_in` reports it rounded up to whole seconds.
    pub access_token_lifetime: Duration,
    /// Scopes of the grants that `add_user` (and seeded users) get, space-separated. Full
    /// Calendar access by default, so those refresh tokens may do anything.
    pub default_scope: String,
    /// Channel lifetime when the watch request names neither `expiration` nor `params.ttl`
    /// (documented: 604800 s).
    pub default_channel_ttl: Duration,
    /// Longest channel lifetime granted; longer requests are clamped.
    /// UNCONFIRMED: Google publishes no maximum; integrators ask for about a month.
    pub max_channel_lifetime: Duration,
    /// Emit the watch response's `expiration` as a JSON string (as real traffic shows) rather
    /// than a number (as the reference page shows). UNCONFIRMED which one Google promises.
    pub expiration_as_string: bool,
    /// Each new message number is the previous one plus a random step in this inclusive range.
    /// Google documents only that numbers grow with gaps.
    pub message_number_step: (u64, u64),
    /// Waits between delivery attempts of one notification; one retry per entry. Retries happen
    /// only after 500, 502, 503 or 504. UNCONFIRMED: Google documents no schedule.
    pub notification_retry_delays: Vec<Duration>,
    /// Also retry when the receiver cannot be reached at all. UNCONFIRMED; off by default
    /// because Google documents retries only for the four status codes.
    pub retry_transport_errors: bool,
    /// Timeout of one delivery attempt.
    pub notification_timeout: Duration,
    /// Reject watch addresses that are not `https://`, as Google does. Off by default so a
    /// local receiver on plain HTTP works.
    pub require_https_address: bool,
    /// Status used for writes (update, patch) to a deleted event. UNCONFIRMED: 403 was
    /// observed; 410 is the other plausible answer.
    pub tombstone_write: TombstoneWrite,
    /// Follow the reported (UNCONFIRMED) behaviour of omitting `nextSyncToken` from a full sync
    /// that used `orderBy`, `q`, `iCalUID` or an extended-property filter.
    pub omit_sync_token_with_filters: bool,
    /// Per-user requests per minute on the Calendar endpoints; `None` disables the check.
    /// Google's documented figure is 600.
    pub quota_per_user_per_minute: Option<u32>,
    /// How an exceeded per-user quota is answered.
    pub quota_response: QuotaResponse,
    /// How long each Google-facing request takes, drawn uniformly from `(min, max)`: half
    /// before the request takes effect, half after, so a write lands while its caller still
    /// waits, as over a real network. `None` (the default) answers at once. Google's own
    /// Calendar calls take about 100 ms.
    pub api_latency: Option<(Duration, Duration)>,
    /// Time zone of the primary calendars created by `add_user` (change one user's with
    /// `Control::set_primary_time_zone`).
    pub calendar_time_zone: String,
    /// Users created at start-up, each with this fixed refresh token (if given).
    pub users: Vec<SeedUser>,
}

/// A user created when the emulator starts.
#[derive(Debug, Clone)]
pub struct SeedUser {
    /// Email address; also the id of the user's primary calendar.
    pub email: String,
    /// Refresh token to issue for this user; a random one when `None`.
    pub refresh_token: Option<String>,
}

/// Answer to `update`/`patch` on a deleted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TombstoneWrite {
    /// 403 `forbidden` (observed from Google after a delete in the UI).
    Forbidden403,
    /// 410 `deleted`.
    Gone410,
}

/// Answer to a request over the per-user quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaResponse {
    /// 403 `userRateLimitExceeded` in domain `usageLimits`.
    UserRateLimit403,
    /// 429 `rateLimitExceeded` in domain `usageLimits`.
    RateLimit429,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:0".to_owned(),
            client_id: "calsync-test-client.apps.googleusercontent.com".to_owned(),
            client_secret: "calsync-test-secret".to_owned(),
            redirect_uris: Vec::new(),
            auth_code_lifetime: Duration::from_secs(600),
            id_token_issuer: "https://accounts.google.com".to_owned(),
            access_token_lifetime: Duration::from_secs(3600),
            default_scope: "https://www.googleapis.com/auth/calendar".to_owned(),
            default_channel_ttl: Duration::from_secs(604_800),
            max_channel_lifetime: Duration::from_secs(30 * 86_400),
            expiration_as_string: true,
            message_number_step: (1, 17),
            notification_retry_delays: vec![
                Duration::from_millis(20),
                Duration::from_millis(40),
                Duration::from_millis(80),
            ],
            retry_transport_errors: false,
            notification_timeout: Duration::from_secs(5),
            require_https_address: false,
            tombstone_write: TombstoneWrite::Forbidden403,
            omit_sync_token_with_filters: true,
            quota_per_user_per_minute: None,
            quota_response: QuotaResponse::UserRateLimit403,
            api_latency: None,
            calendar_time_zone: "UTC".to_owned(),
            users: Vec::new(),
        }
    }
}

impl EmulatorConfig {
    /// Retry delays closer to Google's exponential backoff, for demos against a real receiver.
    pub fn standalone_retry_delays() -> Vec<Duration> {
        [1, 2, 4, 8, 16]
            .into_iter()
            .map(Duration::from_secs)
            .collect()
    }
}
