//! AES-256-GCM sealing of tokens, with key versions so the key can be rotated.
//!
//! Every sealed value is bound to an owner (the user id) through the associated data: a
//! ciphertext copied into another user's row does not open.

use std::collections::BTreeMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

/// A 256-bit key. Its bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct EncryptionKey([u8; 32]);

impl EncryptionKey {
    /// The key made of exactly 32 bytes, or `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// A fresh random key (tests and `calsync dev`).
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Self(k)
    }

    /// The raw bytes, e.g. to print a generated key once for an operator.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(..)")
    }
}

/// A sealed secret as stored: ciphertext (with its tag), nonce and the key version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    pub key_version: i32,
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The row names a key version this process was not given.
    #[error("no encryption key configured for key version {0}")]
    UnknownKeyVersion(i32),
    /// Wrong key, wrong owner, or tampered data: authentication failed.
    #[error("sealed token could not be opened (wrong key or tampered data)")]
    Open,
    /// The stored nonce does not have the AES-GCM length.
    #[error("stored nonce has the wrong length")]
    BadNonce,
    /// The plaintext is not UTF-8 (tokens always are).
    #[error("opened token is not valid UTF-8")]
    NotUtf8,
}

/// Seals with the current key; opens with the current or any previous key.
#[derive(Clone)]
pub struct TokenCipher {
    current_version: i32,
    keys: Arc<BTreeMap<i32, Aes256Gcm>>,
}

impl TokenCipher {
    pub fn new(
        current_version: i32,
        current: EncryptionKey,
        previous: BTreeMap<i32, EncryptionKey>,
    ) -> Self {
        let mut keys: BTreeMap<i32, Aes256Gcm> = previous
            .into_iter()
            .map(|(v, k)| (v, Aes256Gcm::new((&k.0).into())))
            .collect();
        keys.insert(current_version, Aes256Gcm::new((&current.0).into()));
        Self {
            current_version,
            keys: Arc::new(keys),
        }
    }

    /// The version rows sealed now will carry.
    pub fn current_version(&self) -> i32 {
        self.current_version
    }

    /// Seals `secret` for `owner` with the current key and a fresh random nonce.
    pub fn seal(&self, owner: &[u8], secret: &str) -> Result<Sealed, CryptoError> {
        let cipher = self
            .keys
            .get(&self.current_version)
            .ok_or(CryptoError::UnknownKeyVersion(self.current_version))?;
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: owner,
                },
            )
            .map_err(|_| CryptoError::Open)?;
        Ok(Sealed {
            ciphertext,
            nonce: nonce.to_vec(),
            key_version: self.current_version,
        })
    }

    /// Opens a sealed secret of `owner`.
    pub fn open(&self, owner: &[u8], sealed: &Sealed) -> Result<String, CryptoError> {
        let cipher = self
            .keys
            .get(&sealed.key_version)
            .ok_or(CryptoError::UnknownKeyVersion(sealed.key_version))?;
        if sealed.nonce.len() != 12 {
            return Err(CryptoError::BadNonce);
        }
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: owner,
                },
            )
            .map_err(|_| CryptoError::Open)?;
        String::from_utf8(plain).map_err(|_| CryptoError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(version: i32, key: &EncryptionKey) -> TokenCipher {
        TokenCipher::new(version, key.clone(), BTreeMap::new())
    }

    #[test]
    fn seal_then_open_round_trips() {
        let c = cipher(1, &EncryptionKey::random());
        let sealed = c.seal(b"user-a", "1//refresh-token").unwrap();
        assert_eq!(sealed.key_version, 1);
        assert!(!sealed.ciphertext.windows(7).any(|w| w == b"refresh"));
        assert_eq!(c.open(b"user-a", &sealed).unwrap(), "1//refresh-token");
    }

    #[test]
    fn another_owner_cannot_open() {
        let c = cipher(1, &EncryptionKey::random());
        let sealed = c.seal(b"user-a", "secret").unwrap();
        assert!(matches!(c.open(b"user-b", &sealed), Err(CryptoError::Open)));
    }

    #[test]
    fn rotated_key_still_opens_old_rows_and_seals_with_new_version() {
        let old = EncryptionKey::random();
        let sealed_v1 = cipher(1, &old).seal(b"u", "secret").unwrap();
        let rotated = TokenCipher::new(2, EncryptionKey::random(), BTreeMap::from([(1, old)]));
        assert_eq!(rotated.open(b"u", &sealed_v1).unwrap(), "secret");
        assert_eq!(rotated.seal(b"u", "secret").unwrap().key_version, 2);
    }

    #[test]
    fn unknown_version_is_reported() {
        let sealed = cipher(7, &EncryptionKey::random()).seal(b"u", "s").unwrap();
        let other = cipher(1, &EncryptionKey::random());
        assert!(matches!(
            other.open(b"u", &sealed),
            Err(CryptoError::UnknownKeyVersion(7))
        ));
    }
}
