use std::time::Duration;

use secrecy::SecretString;

use super::env::{ConfigError, required_var, var, var_parsed};
use crate::google::GoogleLimits;

/// Where and as whom calsync talks to Google. Every URL is configurable so tests and demos
/// can point them at the emulator.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// Calendar API base, without a trailing slash.
    pub api_base_url: String,
    pub oauth_token_url: String,
    pub oauth_auth_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Bound on each HTTP request to Google.
    pub request_timeout: Duration,
    /// How much of Google's answers is read before calsync stops trusting them.
    pub limits: GoogleLimits,
}

impl GoogleConfig {
    /// Reads:
    /// - `GOOGLE_API_BASE_URL` (default `https://www.googleapis.com/calendar/v3`)
    /// - `GOOGLE_OAUTH_TOKEN_URL` (default `https://oauth2.googleapis.com/token`)
    /// - `GOOGLE_OAUTH_AUTH_URL` (default `https://accounts.google.com/o/oauth2/v2/auth`)
    /// - `GOOGLE_CLIENT_ID`, `GOOGLE_CLIENT_SECRET` (required)
    /// - `GOOGLE_REQUEST_TIMEOUT_MS` (default 15000)
    /// - `GOOGLE_MAX_BODY_BYTES` (default 33554432, 32 MiB): longest response body read
    /// - `SYNC_MAX_PAGES` (default 1000), `SYNC_MAX_EVENTS` (default 250000): most pages
    ///   and events one listing reads before the run fails naming the cap
    /// - `CALSYNC_ALLOW_INSECURE_GOOGLE` (default 0): the three URLs must be `https://`
    ///   unless this is `1` (the emulator in tests and `scripts/dev`); a host that is not
    ///   Google's is warned about either way
    pub fn from_env() -> Result<Self, ConfigError> {
        let allow_insecure = flag("CALSYNC_ALLOW_INSECURE_GOOGLE")?;
        let endpoint = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            let url = var(name).unwrap_or_else(|| default.to_owned());
            if let Some(warning) = check_endpoint(name, &url, allow_insecure)? {
                log::warn!("{warning}");
            }
            Ok(url)
        };
        Ok(Self {
            api_base_url: trim_slash(endpoint(
                "GOOGLE_API_BASE_URL",
                "https://www.googleapis.com/calendar/v3",
            )?),
            oauth_token_url: endpoint(
                "GOOGLE_OAUTH_TOKEN_URL",
                "https://oauth2.googleapis.com/token",
            )?,
            oauth_auth_url: endpoint(
                "GOOGLE_OAUTH_AUTH_URL",
                "https://accounts.google.com/o/oauth2/v2/auth",
            )?,
            client_id: required_var("GOOGLE_CLIENT_ID")?,
            client_secret: required_var("GOOGLE_CLIENT_SECRET")?.into(),
            request_timeout: Duration::from_millis(var_parsed(
                "GOOGLE_REQUEST_TIMEOUT_MS",
                15_000u64,
            )?),
            limits: limits_from_env()?,
        })
    }

    /// A configuration pointing every endpoint at `api_base_url` / `token_url` (tests).
    pub fn for_endpoints(
        api_base_url: &str,
        token_url: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        Self {
            api_base_url: trim_slash(api_base_url.to_owned()),
            oauth_token_url: token_url.to_owned(),
            oauth_auth_url: String::new(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned().into(),
            request_timeout: Duration::from_secs(10),
            limits: GoogleLimits::default(),
        }
    }
}

fn limits_from_env() -> Result<GoogleLimits, ConfigError> {
    let d = GoogleLimits::default();
    let at_least_one = |name: &'static str, n: usize| {
        if n == 0 {
            Err(ConfigError::Invalid {
                name,
                reason: "must be at least 1".into(),
            })
        } else {
            Ok(n)
        }
    };
    Ok(GoogleLimits {
        max_body_bytes: at_least_one(
            "GOOGLE_MAX_BODY_BYTES",
            var_parsed("GOOGLE_MAX_BODY_BYTES", d.max_body_bytes)?,
        )?,
        max_pages: at_least_one("SYNC_MAX_PAGES", var_parsed("SYNC_MAX_PAGES", d.max_pages)?)?,
        max_events: at_least_one(
            "SYNC_MAX_EVENTS",
            var_parsed("SYNC_MAX_EVENTS", d.max_events)?,
        )?,
    })
}

/// A boolean variable: `1`/`true` or `0`/`false` (default false).
pub(super) fn flag(name: &'static str) -> Result<bool, ConfigError> {
    match var(name).as_deref().map(str::trim) {
        None | Some("0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(_) => Err(ConfigError::Invalid {
            name,
            reason: "must be 1 or 0".into(),
        }),
    }
}

/// Whether `host` is one of Google's.
fn is_google_host(host: &str) -> bool {
    host == "googleapis.com"
        || host == "google.com"
        || host.ends_with(".googleapis.com")
        || host.ends_with(".google.com")
}

/// Checks one Google endpoint: a URL, `https://` unless `allow_insecure`. Returns a warning
/// to log when it is accepted but suspicious (not a Google host, or plain http).
pub(super) fn check_endpoint(
    name: &'static str,
    url: &str,
    allow_insecure: bool,
) -> Result<Option<String>, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        name,
        reason: reason.to_owned(),
    };
    let parsed = url::Url::parse(url).map_err(|_| invalid("not a valid URL"))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    match parsed.scheme() {
        "https" => {}
        "http" if allow_insecure => {
            return Ok(Some(format!(
                "{name} is plain http ({host}): allowed only because \
                 CALSYNC_ALLOW_INSECURE_GOOGLE=1; never set it in production"
            )));
        }
        _ => {
            return Err(invalid(
                "must be an https:// URL (CALSYNC_ALLOW_INSECURE_GOOGLE=1 allows http:// for \
                 the emulator and local runs only)",
            ));
        }
    }
    if host.is_empty() {
        return Err(invalid("the URL has no host"));
    }
    Ok((!is_google_host(&host))
        .then(|| format!("{name} points at {host}, which is not a Google host")))
}

fn trim_slash(mut url: String) -> String {
    while url.ends_with('/') {
        url.pop();
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_endpoints_must_be_https() {
        let emulator = "http://127.0.0.1:8085/calendar/v3";
        let err = check_endpoint("GOOGLE_API_BASE_URL", emulator, false).unwrap_err();
        assert!(err.to_string().contains("GOOGLE_API_BASE_URL"), "{err}");
        assert!(err.to_string().contains("https://"), "{err}");
        for bad in [
            "ftp://www.googleapis.com/x",
            "www.googleapis.com/calendar/v3",
            "",
        ] {
            assert!(
                check_endpoint("GOOGLE_API_BASE_URL", bad, true).is_err(),
                "{bad}"
            );
        }
        // The emulator is allowed only when asked for, with a warning.
        let warning = check_endpoint("GOOGLE_API_BASE_URL", emulator, true).unwrap();
        assert!(warning.unwrap().contains("CALSYNC_ALLOW_INSECURE_GOOGLE"));
    }

    #[test]
    fn google_hosts_pass_silently_and_others_are_warned_about() {
        for url in [
            "https://www.googleapis.com/calendar/v3",
            "https://oauth2.googleapis.com/token",
            "https://accounts.google.com/o/oauth2/v2/auth",
        ] {
            assert_eq!(check_endpoint("X", url, false).unwrap(), None, "{url}");
        }
        for url in [
            "https://googleapis.com.evil.example/calendar/v3",
            "https://calendar-proxy.example.com/v3",
        ] {
            let warning = check_endpoint("X", url, false).unwrap().unwrap();
            assert!(warning.contains("not a Google host"), "{warning}");
        }
    }
}
