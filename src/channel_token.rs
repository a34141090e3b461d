//! The token calsync gives Google for a watch channel, and its check on every notification.
//!
//! Google echoes the channel's token in `X-Goog-Channel-Token`. It is the only thing that
//! tells a genuine notification from a forged one, so it must be unguessable: it is an
//! HMAC-SHA256 of the channel id under `CHANNEL_TOKEN_SECRET`, never anything derivable
//! from the id alone. Pure functions: no I/O, no configuration reading.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Version prefix, so a later change of scheme can accept both while channels renew.
const PREFIX: &str = "v1.";
/// Domain separation: the same secret must never produce a token for another purpose.
const CONTEXT: &[u8] = b"calsync/google-calendar-channel-token/v1\0";

/// The token for `channel_id`: `v1.` followed by the unpadded base64url HMAC (46 characters,
/// all of them header- and URL-safe; Google allows 256).
pub fn derive(secret: &SecretString, channel_id: &str) -> String {
    let tag = mac(secret, channel_id).finalize().into_bytes();
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Whether `presented` is the token of `channel_id` under `current` or, during a rotation,
/// under `previous`. The MAC comparison is constant-time.
pub fn verify(
    current: &SecretString,
    previous: Option<&SecretString>,
    channel_id: &str,
    presented: &str,
) -> bool {
    let Some(encoded) = presented.strip_prefix(PREFIX) else {
        return false;
    };
    // A SHA-256 tag is 32 bytes: 43 base64url characters. Anything else cannot match, and
    // rejecting it early bounds the decoding work an attacker can cause.
    if encoded.len() != 43 {
        return false;
    }
    let Ok(tag) = URL_SAFE_NO_PAD.decode(encoded) else {
        return false;
    };
    // Both secrets are always tried so the time taken does not say which one matched.
    let ok_current = mac(current, channel_id).verify_slice(&tag).is_ok();
    let ok_previous = previous.is_some_and(|p| mac(p, channel_id).verify_slice(&tag).is_ok());
    ok_current | ok_previous
}

fn mac(secret: &SecretString, channel_id: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    };
    mac.update(CONTEXT);
    mac.update(channel_id.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> SecretString {
        v.to_owned().into()
    }

    #[test]
    fn derived_token_is_header_safe_and_short() {
        let t = derive(&s("secret"), "0b0e4a6e-2c1f-4e7b-9a57-6f1b1c1d1e1f");
        assert!(t.len() <= 256);
        assert_eq!(t.len(), 46);
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        );
    }

    #[test]
    fn verifies_own_token_and_rejects_others() {
        let sec = s("secret");
        let t = derive(&sec, "chan-1");
        assert!(verify(&sec, None, "chan-1", &t));
        assert!(
            !verify(&sec, None, "chan-2", &t),
            "token of another channel"
        );
        assert!(!verify(&s("other"), None, "chan-1", &t), "other secret");
        assert!(!verify(&sec, None, "chan-1", ""));
        assert!(!verify(&sec, None, "chan-1", "perm-tracker-chan-1"));
        assert!(!verify(&sec, None, "chan-1", &t[..t.len() - 1]));
        let mut flipped = t.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert!(!verify(
            &sec,
            None,
            "chan-1",
            std::str::from_utf8(&flipped).unwrap()
        ));
    }

    #[test]
    fn previous_secret_is_accepted_during_rotation() {
        let old = s("old-secret");
        let new = s("new-secret");
        let old_token = derive(&old, "chan-1");
        assert!(!verify(&new, None, "chan-1", &old_token));
        assert!(verify(&new, Some(&old), "chan-1", &old_token));
        assert!(verify(&new, Some(&old), "chan-1", &derive(&new, "chan-1")));
    }
}
