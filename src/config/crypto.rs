use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::env::{ConfigError, required_var, var, var_parsed};
use crate::crypto::{EncryptionKey, TokenCipher};

/// The keys that seal Google tokens at rest.
#[derive(Clone)]
pub struct CryptoConfig {
    pub cipher: TokenCipher,
}

impl std::fmt::Debug for CryptoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CryptoConfig")
            .field("current_key_version", &self.cipher.current_version())
            .finish_non_exhaustive()
    }
}

impl CryptoConfig {
    /// Reads:
    /// - `TOKEN_ENCRYPTION_KEY` (required): 32 bytes, base64 (`openssl rand -base64 32`)
    /// - `TOKEN_ENCRYPTION_KEY_VERSION` (default 1): the number stored with rows it seals
    /// - `TOKEN_ENCRYPTION_PREVIOUS_KEYS` (default none): `version:base64key` pairs,
    ///   comma-separated, still accepted for decryption while rows are re-sealed
    pub fn from_env() -> Result<Self, ConfigError> {
        let version = var_parsed("TOKEN_ENCRYPTION_KEY_VERSION", 1i32)?;
        let current = parse_key(
            "TOKEN_ENCRYPTION_KEY",
            &required_var("TOKEN_ENCRYPTION_KEY")?,
        )?;
        let mut previous = BTreeMap::new();
        for pair in var("TOKEN_ENCRYPTION_PREVIOUS_KEYS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (v, k) = pair.split_once(':').ok_or(ConfigError::Invalid {
                name: "TOKEN_ENCRYPTION_PREVIOUS_KEYS",
                reason: "expected version:base64key pairs".into(),
            })?;
            let v: i32 = v.parse().map_err(|_| ConfigError::Invalid {
                name: "TOKEN_ENCRYPTION_PREVIOUS_KEYS",
                reason: "a key version is not an integer".into(),
            })?;
            previous.insert(v, parse_key("TOKEN_ENCRYPTION_PREVIOUS_KEYS", k)?);
        }
        if previous.contains_key(&version) {
            return Err(ConfigError::Invalid {
                name: "TOKEN_ENCRYPTION_PREVIOUS_KEYS",
                reason: format!("repeats the current key version {version}"),
            });
        }
        Ok(Self {
            cipher: TokenCipher::new(version, current, previous),
        })
    }
}

fn parse_key(name: &'static str, raw: &str) -> Result<EncryptionKey, ConfigError> {
    let bytes = STANDARD
        .decode(raw.trim())
        .map_err(|_| ConfigError::Invalid {
            name,
            reason: "not valid base64".into(),
        })?;
    EncryptionKey::from_slice(&bytes).ok_or(ConfigError::Invalid {
        name,
        reason: format!("must decode to 32 bytes, got {}", bytes.len()),
    })
}
