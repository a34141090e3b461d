use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::env::{ConfigError, required_var, var_parsed};

/// How to reach PostgreSQL.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// The connection URL; secret because it usually carries a password.
    pub url: SecretString,
    /// Most connections the pool opens.
    pub pool_size: u32,
    /// Longest wait for a free pooled connection before an operation fails.
    pub checkout_timeout: Duration,
}

impl DatabaseConfig {
    /// Reads:
    /// - `DATABASE_URL` (required): a `postgres://` or `postgresql://` URL; a malformed one
    ///   is refused naming the part that is wrong, never echoing the value
    /// - `DATABASE_POOL_SIZE` (default 10)
    /// - `DATABASE_CHECKOUT_TIMEOUT_MS` (default 2000)
    pub fn from_env() -> Result<Self, ConfigError> {
        let pool_size = var_parsed("DATABASE_POOL_SIZE", 10u32)?;
        if pool_size == 0 {
            return Err(ConfigError::Invalid {
                name: "DATABASE_POOL_SIZE",
                reason: "must be at least 1".into(),
            });
        }
        let url = required_var("DATABASE_URL")?;
        check_url(&url).map_err(|reason| ConfigError::Invalid {
            name: "DATABASE_URL",
            reason: reason.into(),
        })?;
        Ok(Self {
            url: url.into(),
            pool_size,
            checkout_timeout: Duration::from_millis(var_parsed(
                "DATABASE_CHECKOUT_TIMEOUT_MS",
                2000u64,
            )?),
        })
    }

    /// A configuration for `url` with the defaults; used by tests and tools.
    pub fn for_url(url: &str) -> Self {
        Self {
            url: url.to_owned().into(),
            pool_size: 10,
            checkout_timeout: Duration::from_secs(2),
        }
    }

    /// `text` (an error from libpq, which quotes parts of the URL it rejects) with the URL's
    /// password, in every form it may be quoted in, and the URL itself replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        redact(self.url.expose_secret(), text)
    }
}

/// The parts of a libpq connection URI, split the way libpq splits them
/// (`scheme://[user[:password]@][host[:port][,...]][/database][?key=value&...]`).
struct UriParts<'a> {
    user: Option<&'a str>,
    password: Option<&'a str>,
    hosts: &'a str,
    database: Option<&'a str>,
    params: Option<&'a str>,
}

fn split_uri(url: &str) -> Result<UriParts<'_>, &'static str> {
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
        .ok_or("must be a URL starting with postgres:// or postgresql://")?;
    // libpq: credentials end at the first '@' seen before any '/'.
    let (user, password, rest) = match rest.find(['@', '/']) {
        Some(at) if rest.as_bytes()[at] == b'@' => {
            let (creds, rest) = (&rest[..at], &rest[at + 1..]);
            match creds.split_once(':') {
                Some((u, p)) => (Some(u), Some(p), rest),
                None => (Some(creds), None, rest),
            }
        }
        _ => (None, None, rest),
    };
    let (hosts, rest) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let (database, params) = match rest.strip_prefix('/') {
        Some(after) => match after.split_once('?') {
            Some((db, params)) => (Some(db), Some(params)),
            None => (Some(after), None),
        },
        None => (None, rest.strip_prefix('?')),
    };
    Ok(UriParts {
        user,
        password,
        hosts,
        database,
        params,
    })
}

/// Whether `s` is valid percent-encoding as libpq decodes it (`%` and two hex digits, never
/// `%00`).
fn percent_encoding_ok(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3);
            match hex {
                Some(h) if h.iter().all(u8::is_ascii_hexdigit) && h != b"00" => i += 3,
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let Some(b) = hex {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks `url` the way libpq will read it, so that libpq never gets to quote a malformed
/// part (it quotes the offending text, which may be the password). The reason names the part
/// and never contains any of the value.
fn check_url(url: &str) -> Result<(), &'static str> {
    let parts = split_uri(url)?;
    if parts.user.is_some_and(|u| !percent_encoding_ok(u)) {
        return Err("the user name has an invalid percent-encoding (%XX)");
    }
    if parts.password.is_some_and(|p| !percent_encoding_ok(p)) {
        return Err(
            "the password has an invalid percent-encoding (%XX); percent-encode \
                    special characters in it",
        );
    }
    for host in parts.hosts.split(',').filter(|h| !h.is_empty()) {
        let port = if let Some(v6) = host.strip_prefix('[') {
            let Some((addr, after)) = v6.split_once(']') else {
                return Err("an IPv6 host lacks its closing ]");
            };
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("an IPv6 host is not a valid IPv6 address");
            }
            match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or("unexpected text after an IPv6 host")?,
                ),
            }
        } else {
            let (name, port) = match host.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (host, None),
            };
            if !percent_encoding_ok(name) {
                return Err("the host has an invalid percent-encoding (%XX)");
            }
            port
        };
        if let Some(port) = port.filter(|p| !p.is_empty())
            && port.parse::<u16>().map_or(true, |p| p == 0)
        {
            return Err(
                "the port is not a number from 1 to 65535 (a password with : / @ ? \
                        or # in it must be percent-encoded)",
            );
        }
    }
    if parts.database.is_some_and(|d| !percent_encoding_ok(d)) {
        return Err("the database name has an invalid percent-encoding (%XX)");
    }
    for param in parts.params.unwrap_or_default().split('&') {
        if param.is_empty() {
            continue;
        }
        let Some((key, value)) = param.split_once('=') else {
            return Err("a query parameter is not key=value");
        };
        if key.is_empty() || value.contains('=') {
            return Err("a query parameter is not key=value");
        }
        if !percent_encoding_ok(key) || !percent_encoding_ok(value) {
            return Err("a query parameter has an invalid percent-encoding (%XX)");
        }
    }
    Ok(())
}

/// `text` with every secret of `url` replaced by `***`: the URL itself, its password (as
/// written and percent-decoded) and a `password` query parameter.
fn redact(url: &str, text: &str) -> String {
    let mut secrets = vec![url.to_owned()];
    if let Ok(parts) = split_uri(url) {
        secrets.extend(parts.password.map(str::to_owned));
        for param in parts.params.unwrap_or_default().split('&') {
            if let Some(("password", value)) = param.split_once('=') {
                secrets.push(value.to_owned());
            }
        }
    } else {
        // Not even a URL: whatever it is, quote none of it (a key=value connection string
        // would carry `password=...`).
        secrets.extend(url.split_whitespace().map(str::to_owned));
    }
    let decoded: Vec<String> = secrets.iter().map(|s| percent_decode(s)).collect();
    secrets.extend(decoded);
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in &secrets {
        out = out.replace(secret.as_str(), "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_urls_pass() {
        for url in [
            "postgres://postgres:postgres@127.0.0.1:5432/calsync_dev",
            "postgresql://u:p%40ss%2Fw0rd@db.example.com/db?sslmode=require",
            "postgres://u@[::1]:5432/db",
            "postgres://u:p@h1:5432,h2:5433/db?target_session_attrs=read-write",
            "postgres:///db?host=/var/run/postgresql",
            "postgres://localhost",
        ] {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn malformed_urls_name_the_part_and_never_the_value() {
        let secret = "Hunter2Secret";
        for (url, part) in [
            ("postgrs://u:Hunter2Secret@h/db", "postgres://"),
            ("u:Hunter2Secret@h/db", "postgres://"),
            ("host=h password=Hunter2Secret", "postgres://"),
            ("postgres://u:Hunter2Secret%zz@h/db", "password"),
            ("postgres://u:Hunter2Secret@h:notaport/db", "port"),
            ("postgres://u:Hunter2/Secret@h/db", "port"),
            ("postgres://u:Hunter2Secret@[::1/db", "IPv6"),
            (
                "postgres://u:Hunter2Secret@h/db?Hunter2Secret",
                "query parameter",
            ),
            ("postgres://u:Hunter2Secret@h/d%b", "database name"),
        ] {
            let reason = check_url(url).unwrap_err();
            assert!(reason.contains(part), "{url}: {reason}");
            assert!(
                !reason.contains(secret) && !reason.contains("Hunter2"),
                "{reason}"
            );
        }
    }

    #[test]
    fn redaction_removes_the_password_in_every_form() {
        let url = "postgres://u:p%40Hunter2@h:1/db?connect_timeout=x&password=Other%21";
        let libpq = format!(
            "invalid value \"p%40Hunter2\" or \"p@Hunter2\"; \"Other!\" \"Other%21\"; in {url}"
        );
        let out = redact(url, &libpq);
        for leaked in ["Hunter2", "Other"] {
            assert!(!out.contains(leaked), "{out}");
        }
        assert!(out.starts_with("invalid value"), "{out}");
    }
}
