/// Whether `id` can be a Google push channel id: 1 to 64 characters from
/// `[A-Za-z0-9-_+/=]` (the push service rejects anything else; the same rule is a CHECK on
/// `calendar_sync_channels.channel_id`).
pub fn is_valid_channel_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'='))
}

#[cfg(test)]
mod tests {
    use super::is_valid_channel_id;

    #[test]
    fn accepts_google_alphabet_up_to_64() {
        assert!(is_valid_channel_id("0b0e4a6e-2c1f-4e7b-9a57-6f1b1c1d1e1f"));
        assert!(is_valid_channel_id("A+b/c=_-9"));
        assert!(is_valid_channel_id(&"a".repeat(64)));
    }

    #[test]
    fn rejects_empty_long_and_foreign_characters() {
        assert!(!is_valid_channel_id(""));
        assert!(!is_valid_channel_id(&"a".repeat(65)));
        for bad in ["a.b", "a b", "a:b", "ä", "a\nb", "a*b"] {
            assert!(!is_valid_channel_id(bad), "{bad:?}");
        }
    }
}
