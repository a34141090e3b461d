//! Injected faults: "the next N requests matching this method and path fail with this error".
//! They are checked before authentication, so they hit any Google-facing request, including
//! the token endpoint, exactly as an overloaded front end would.

use serde::{Deserialize, Serialize};

use super::errors::GoogleError;

/// The error an injected fault answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// 429 `rateLimitExceeded` (usageLimits).
    Status429,
    /// 403 `rateLimitExceeded` (usageLimits), Google's other way of saying 429.
    RateLimit403,
    /// 500 `backendError`.
    Status500,
    /// 503 `backendError`, "The service is currently unavailable."
    Status503,
}

impl FaultKind {
    fn error(self) -> GoogleError {
        match self {
            FaultKind::Status429 => GoogleError::new(
                429,
                "usageLimits",
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            ),
            FaultKind::RateLimit403 => GoogleError::new(
                403,
                "usageLimits",
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            ),
            FaultKind::Status500 => {
                GoogleError::new(500, "global", "backendError", "Backend Error")
            }
            FaultKind::Status503 => GoogleError::new(
                503,
                "global",
                "backendError",
                "The service is currently unavailable.",
            ),
        }
    }
}

/// "Fail the next `count` requests that match."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// HTTP method to match (case-insensitive); any method when `None`.
    #[serde(default)]
    pub method: Option<String>,
    /// Substring the request path must contain; any path when `None`.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// How many matching requests fail.
    pub count: u32,
    /// The error to answer with.
    pub kind: FaultKind,
    /// `Retry-After` seconds to send, if any.
    #[serde(default)]
    pub retry_after: Option<u32>,
}

impl FaultRule {
    /// A rule matching every Google-facing request.
    pub fn new(kind: FaultKind, count: u32) -> Self {
        Self {
            method: None,
            path_contains: None,
            count,
            kind,
            retry_after: None,
        }
    }

    /// Only requests with this method.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_owned());
        self
    }

    /// Only requests whose path contains this text.
    pub fn path_contains(mut self, fragment: &str) -> Self {
        self.path_contains = Some(fragment.to_owned());
        self
    }

    /// Send `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u32) -> Self {
        self.retry_after = Some(secs);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.count > 0
            && self
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_ref()
                .is_none_or(|p| path.contains(p.as_str()))
    }
}

/// The active rules, consumed in the order they were added.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<FaultRule>,
}

impl Faults {
    /// Adds a rule after the existing ones.
    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Consumes one use of the first matching rule and returns its error.
    pub fn take(&mut self, method: &str, path: &str) -> Option<GoogleError> {
        let rule = self.rules.iter_mut().find(|r| r.matches(method, path))?;
        rule.count -= 1;
        let mut err = rule.kind.error();
        err.retry_after = rule.retry_after;
        self.rules.retain(|r| r.count > 0);
        Some(err)
    }
}
