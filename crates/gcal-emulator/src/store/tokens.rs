//! Sync and page tokens. Both are opaque to clients (base64url of a small JSON record), like
//! Google's. A sync token names the calendar, its token epoch and a change-log sequence; a page
//! token pins the snapshot sequence of the first page and the sort key of the last item served,
//! so later pages neither repeat nor skip items when the calendar changes in between.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Decoded `syncToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncToken {
    /// Calendar the token belongs to.
    #[serde(rename = "c")]
    pub calendar: String,
    /// Calendar token epoch when issued; a later epoch invalidates it.
    #[serde(rename = "e")]
    pub epoch: u64,
    /// Changes up to and including this sequence have been seen.
    #[serde(rename = "s")]
    pub seq: u64,
}

/// Decoded `pageToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken {
    /// Calendar sequence when the first page was served; becomes the final sync token.
    #[serde(rename = "s")]
    pub snapshot: u64,
    /// Calendar token epoch when the first page was served.
    #[serde(rename = "e")]
    pub epoch: u64,
    /// Sort key of the last item already served.
    #[serde(rename = "k")]
    pub after: String,
}

fn encode<T: Serialize>(value: &T) -> String {
    // Serialising these plain structs cannot fail; an empty token would simply be rejected.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

fn decode<T: for<'de> Deserialize<'de>>(token: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl SyncToken {
    /// Opaque string form.
    pub fn encode(&self) -> String {
        encode(self)
    }

    /// Parses the opaque form; `None` for anything not issued by us.
    pub fn decode(token: &str) -> Option<Self> {
        decode(token)
    }
}

impl PageToken {
    /// Opaque string form.
    pub fn encode(&self) -> String {
        encode(self)
    }

    /// Parses the opaque form; `None` for anything not issued by us.
    pub fn decode(token: &str) -> Option<Self> {
        decode(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_foreign_values() {
        let sync = SyncToken {
            calendar: "a@example.com".to_owned(),
            epoch: 2,
            seq: 41,
        };
        assert_eq!(SyncToken::decode(&sync.encode()), Some(sync));
        let page = PageToken {
            snapshot: 9,
            epoch: 0,
            after: "abc".to_owned(),
        };
        assert_eq!(PageToken::decode(&page.encode()), Some(page));
        assert_eq!(SyncToken::decode("CPDAlvWDx70CEPDAlvWDx"), None);
        assert_eq!(PageToken::decode(""), None);
    }
}
