use super::env::{ConfigError, required_var, var};

/// Google's scope that lets an app create calendars and manage only those.
pub const SCOPE_APP_CREATED: &str = "https://www.googleapis.com/auth/calendar.app.created";
/// Reading and writing events on any calendar (the existing-calendar mode).
pub const SCOPE_EVENTS: &str = "https://www.googleapis.com/auth/calendar.events";
/// Reading the calendar list (the existing-calendar mode: its name and time zone).
pub const SCOPE_CALENDARLIST_READONLY: &str =
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly";

/// Which calendar a connected user's deadlines go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarMode {
    /// calsync creates a calendar of its own ("PERM Deadlines") and watches it.
    Dedicated { name: String },
    /// An existing calendar of the user, e.g. `primary`.
    Existing { calendar_id: String },
}

impl CalendarMode {
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Dedicated { .. } => "dedicated",
            Self::Existing { .. } => "existing",
        }
    }

    /// The scopes asked for by default in this mode.
    pub fn default_scopes(&self) -> Vec<String> {
        let calendar = match self {
            Self::Dedicated { .. } => vec![SCOPE_APP_CREATED],
            Self::Existing { .. } => vec![SCOPE_EVENTS, SCOPE_CALENDARLIST_READONLY],
        };
        ["openid", "email"]
            .into_iter()
            .chain(calendar)
            .map(str::to_owned)
            .collect()
    }

    /// The calendar scopes without which the sync cannot work in this mode.
    pub fn required_scopes(&self) -> &'static [&'static str] {
        match self {
            Self::Dedicated { .. } => &[SCOPE_APP_CREATED],
            Self::Existing { .. } => &[SCOPE_EVENTS],
        }
    }
}

/// The user-facing connect flow: where the browser goes and what calsync asks Google for.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// Public base of `serve` as the user's browser reaches it (the one-time connect links).
    pub public_base_url: String,
    /// The OAuth redirect URI registered with Google (`…/oauth/google/callback`).
    pub redirect_url: String,
    /// Where the browser lands when the flow ends (`?google_calendar=connected` or `?error=…`).
    pub return_url: String,
    pub revoke_url: String,
    pub userinfo_url: String,
    pub mode: CalendarMode,
    pub scopes: Vec<String>,
    /// The time zone of a created calendar when the primary calendar's cannot be read.
    pub default_time_zone: String,
}

impl ConnectConfig {
    /// Reads:
    /// - `PUBLIC_BASE_URL` (default `WEBHOOK_PUBLIC_URL`)
    /// - `GOOGLE_OAUTH_REDIRECT_URL` (default `<PUBLIC_BASE_URL>/oauth/google/callback`)
    /// - `OAUTH_RETURN_URL` (required)
    /// - `GOOGLE_OAUTH_REVOKE_URL` (default `https://oauth2.googleapis.com/revoke`)
    /// - `GOOGLE_OAUTH_USERINFO_URL` (default `https://openidconnect.googleapis.com/v1/userinfo`)
    /// - `GOOGLE_CALENDAR_MODE` (`dedicated`, the default, or `existing`)
    /// - `GOOGLE_CALENDAR_NAME` (default `PERM Deadlines`; dedicated mode)
    /// - `GOOGLE_CALENDAR_ID` (default `primary`; existing mode)
    /// - `GOOGLE_OAUTH_SCOPES` (default: the mode's, space-separated)
    /// - `DEFAULT_TIME_ZONE` (default `UTC`)
    pub fn from_env() -> Result<Self, ConfigError> {
        let base = match var("PUBLIC_BASE_URL") {
            Some(b) => b,
            None => required_var("WEBHOOK_PUBLIC_URL")
                .map_err(|_| ConfigError::Missing("PUBLIC_BASE_URL"))?,
        };
        let base = http_url("PUBLIC_BASE_URL", &base)?;
        let redirect_url = match var("GOOGLE_OAUTH_REDIRECT_URL") {
            Some(u) => http_url("GOOGLE_OAUTH_REDIRECT_URL", &u)?,
            None => format!("{base}/oauth/google/callback"),
        };
        let return_url = http_url("OAUTH_RETURN_URL", &required_var("OAUTH_RETURN_URL")?)?;
        let mode = match var("GOOGLE_CALENDAR_MODE").as_deref() {
            None | Some("dedicated") => CalendarMode::Dedicated {
                name: var("GOOGLE_CALENDAR_NAME").unwrap_or_else(|| "PERM Deadlines".into()),
            },
            Some("existing") => CalendarMode::Existing {
                calendar_id: var("GOOGLE_CALENDAR_ID").unwrap_or_else(|| "primary".into()),
            },
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "GOOGLE_CALENDAR_MODE",
                    reason: "must be `dedicated` or `existing`".into(),
                });
            }
        };
        let scopes = var("GOOGLE_OAUTH_SCOPES").map_or_else(
            || mode.default_scopes(),
            |s| s.split_whitespace().map(str::to_owned).collect(),
        );
        // Google's endpoints follow the rule of the other GOOGLE_* URLs: https unless
        // CALSYNC_ALLOW_INSECURE_GOOGLE=1 (the emulator).
        let allow_insecure = super::google::flag("CALSYNC_ALLOW_INSECURE_GOOGLE")?;
        let endpoint = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            let url = var(name).unwrap_or_else(|| default.to_owned());
            if let Some(warning) = super::google::check_endpoint(name, &url, allow_insecure)? {
                log::warn!("{warning}");
            }
            Ok(url)
        };
        Ok(Self {
            public_base_url: base,
            redirect_url,
            return_url,
            revoke_url: endpoint(
                "GOOGLE_OAUTH_REVOKE_URL",
                "https://oauth2.googleapis.com/revoke",
            )?,
            userinfo_url: endpoint(
                "GOOGLE_OAUTH_USERINFO_URL",
                "https://openidconnect.googleapis.com/v1/userinfo",
            )?,
            scopes,
            mode,
            default_time_zone: var("DEFAULT_TIME_ZONE").unwrap_or_else(|| "UTC".into()),
        })
    }
}

fn http_url(name: &'static str, value: &str) -> Result<String, ConfigError> {
    let trimmed = value.trim().trim_end_matches('/');
    match url::Url::parse(trimmed) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(trimmed.to_owned())
        }
        _ => Err(ConfigError::Invalid {
            name,
            reason: "must be an http(s) URL".into(),
        }),
    }
}
