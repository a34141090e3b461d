use std::time::Duration;

use secrecy::SecretString;

use super::env::{ConfigError, var, var_parsed};

/// How to reach Redis, which holds the job queue.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// The connection URL; secret because it may carry a password.
    pub url: SecretString,
    /// Longest wait for a TCP connection (and its handshake) to Redis.
    pub connect_timeout: Duration,
    /// Longest wait for the answer to one command or script call; a frozen Redis is noticed
    /// after this.
    pub response_timeout: Duration,
}

impl RedisConfig {
    /// Reads:
    /// - `REDIS_URL` (default `redis://127.0.0.1:6379`; `rediss://` for TLS): a malformed
    ///   one is refused naming the part that is wrong, never echoing the value
    /// - `REDIS_CONNECT_TIMEOUT_MS` (default 1000)
    /// - `REDIS_RESPONSE_TIMEOUT_MS` (default 2000; the client's own default, 500, failed calls
    ///   that a loaded machine answered a little late)
    pub fn from_env() -> Result<Self, ConfigError> {
        let url = var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
        check_url(&url).map_err(|reason| ConfigError::Invalid {
            name: "REDIS_URL",
            reason: reason.into(),
        })?;
        Ok(Self {
            url: url.into(),
            connect_timeout: Duration::from_millis(var_parsed("REDIS_CONNECT_TIMEOUT_MS", 1000)?),
            response_timeout: Duration::from_millis(var_parsed("REDIS_RESPONSE_TIMEOUT_MS", 2000)?),
        })
    }

    /// A configuration for `url` with the defaults; used by tests and tools.
    pub fn for_url(url: &str) -> Self {
        Self {
            url: url.to_owned().into(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(2),
        }
    }
}

/// Checks `url` as the redis crate will read it, with reasons that name the part and never
/// contain any of the value.
fn check_url(url: &str) -> Result<(), &'static str> {
    use url::ParseError as E;
    let parsed = url::Url::parse(url).map_err(|e| match e {
        E::InvalidPort => {
            "the port is not a number from 1 to 65535 (a password with : / @ ? or # in it \
             must be percent-encoded)"
        }
        E::EmptyHost => {
            "the host is empty (a password with : / @ ? or # in it must be percent-encoded)"
        }
        E::InvalidIpv4Address => "the host is not a valid IPv4 address",
        E::InvalidIpv6Address => "the host is not a valid IPv6 address",
        E::RelativeUrlWithoutBase => "must be a URL such as redis://host:6379 or rediss://host",
        _ => "not a valid URL",
    })?;
    let tcp = match parsed.scheme() {
        "redis" | "rediss" | "valkey" | "valkeys" => true,
        "unix" | "redis+unix" | "valkey+unix" => false,
        _ => return Err("the scheme must be redis://, rediss:// (TLS) or unix://"),
    };
    let decodes = |s: &str| percent_decode(s).is_some();
    if !decodes(parsed.username()) {
        return Err("the user name is not valid UTF-8 once percent-decoded");
    }
    if parsed.password().is_some_and(|p| !decodes(p)) {
        return Err("the password is not valid UTF-8 once percent-decoded");
    }
    if tcp {
        match parsed.host_str() {
            None | Some("") => return Err("the host is missing"),
            Some("0.0.0.0" | "[::]") => return Err("the host is a wildcard address"),
            Some(_) => {}
        }
        let db = parsed.path().trim_matches('/');
        if !db.is_empty() && db.parse::<i64>().is_err() {
            return Err("the database number (the path) is not a number");
        }
        if parsed.fragment().is_some_and(|f| f != "insecure") {
            return Err("the only fragment allowed is #insecure");
        }
    }
    for (key, value) in parsed.query_pairs() {
        if key == "protocol" && !matches!(value.as_ref(), "2" | "3" | "resp2" | "resp3") {
            return Err("the protocol parameter must be 2, 3, resp2 or resp3");
        }
    }
    Ok(())
}

fn percent_decode(s: &str) -> Option<String> {
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
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_urls_pass() {
        for url in [
            "redis://127.0.0.1:6379",
            "redis://:p%40ss@redis.example.com:6380/2",
            "rediss://default:secret@cache.example.com",
            "rediss://cache.example.com/#insecure",
            "redis://[::1]:6379/?protocol=resp3",
            "unix:///run/redis.sock",
        ] {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn malformed_urls_name_the_part_and_never_the_value() {
        for (url, part) in [
            ("redis://:Hunter2Secret@127.0.0.1:notaport", "port"),
            ("redis://:Hunter2/Secret@127.0.0.1", "percent-encoded"),
            ("redis://:Hunter2%ffSecret@127.0.0.1", "password"),
            ("http://:Hunter2Secret@127.0.0.1", "scheme"),
            ("Hunter2Secret", "must be a URL"),
            (
                "redis://:Hunter2Secret@127.0.0.1/Hunter2Secret",
                "database number",
            ),
            ("redis://:Hunter2Secret@[::1", "IPv6"),
        ] {
            let reason = check_url(url).unwrap_err();
            assert!(reason.contains(part), "{url}: {reason}");
            assert!(!reason.contains("Hunter2"), "{reason}");
        }
    }
}
