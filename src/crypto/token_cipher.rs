//! AES-256-GCM sealing of tokens, with key versions so the key can be rotated.
//!
//! Every sealed value is bound through the associated data to its owner (the user id), the
//! field that holds it and the key version it names: a ciphertext copied into another user's
//! row, moved to the row's other field (refresh ↔ access token) or relabelled with another
//! key version does not open.
//!
//! Values sealed before the field and version were bound (associated data: the owner alone)
//! still open: `open` tries the current binding first, then the owner-only one, and reports
//! the value [`Opened::is_stale`] so the caller seals it again. Nothing in the row tells the
//! two apart, so no migration is needed; once every row has been re-sealed (`calsync
//! credentials reseal`) the owner-only fallback opens nothing any more.

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

/// What a sealed value is bound to: whose it is and which field holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The owner's id bytes (the user id).
    pub owner: &'a [u8],
    /// The table and column, e.g. `google_credentials.refresh_token`.
    pub field: &'static str,
}

impl Binding<'_> {
    /// The associated data of a value sealed under `key_version`: a format tag, the field,
    /// the key version and the owner, each part delimited so no two bindings share bytes.
    fn associated_data(&self, key_version: i32) -> Vec<u8> {
        let mut aad = Vec::with_capacity(32 + self.field.len() + self.owner.len());
        aad.extend_from_slice(b"calsync-token-v2\0");
        aad.extend_from_slice(self.field.as_bytes());
        aad.push(0);
        aad.extend_from_slice(&key_version.to_be_bytes());
        aad.extend_from_slice(self.owner);
        aad
    }
}

/// An opened secret. `Debug` hides it.
pub struct Opened {
    secret: String,
    stale: bool,
}

impl Opened {
    pub fn secret(&self) -> &str {
        &self.secret
    }

    pub fn into_secret(self) -> String {
        self.secret
    }

    /// Sealed under an older key or without the field binding: seal it again.
    pub fn is_stale(&self) -> bool {
        self.stale
    }
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("stale", &self.stale)
            .finish_non_exhaustive()
    }
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

    /// Seals `secret` for `binding` with the current key and a fresh random nonce.
    pub fn seal(&self, binding: Binding<'_>, secret: &str) -> Result<Sealed, CryptoError> {
        self.seal_with_aad(&binding.associated_data(self.current_version), secret)
    }

    /// Seals the way releases before the field binding did (associated data: the owner
    /// alone). Only for tests of the upgrade path: such values open, as stale.
    pub fn seal_owner_only(&self, owner: &[u8], secret: &str) -> Result<Sealed, CryptoError> {
        self.seal_with_aad(owner, secret)
    }

    fn seal_with_aad(&self, aad: &[u8], secret: &str) -> Result<Sealed, CryptoError> {
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
                    aad,
                },
            )
            .map_err(|_| CryptoError::Open)?;
        Ok(Sealed {
            ciphertext,
            nonce: nonce.to_vec(),
            key_version: self.current_version,
        })
    }

    /// Opens a secret sealed for `binding`, or sealed for its owner alone by an older
    /// release; either way stale unless sealed with the current key and binding.
    pub fn open(&self, binding: Binding<'_>, sealed: &Sealed) -> Result<Opened, CryptoError> {
        let cipher = self
            .keys
            .get(&sealed.key_version)
            .ok_or(CryptoError::UnknownKeyVersion(sealed.key_version))?;
        if sealed.nonce.len() != 12 {
            return Err(CryptoError::BadNonce);
        }
        let decrypt = |aad: &[u8]| {
            cipher
                .decrypt(
                    Nonce::from_slice(&sealed.nonce),
                    Payload {
                        msg: &sealed.ciphertext,
                        aad,
                    },
                )
                .ok()
        };
        let (plain, owner_only) = match decrypt(&binding.associated_data(sealed.key_version)) {
            Some(plain) => (plain, false),
            None => (decrypt(binding.owner).ok_or(CryptoError::Open)?, true),
        };
        let secret = String::from_utf8(plain).map_err(|_| CryptoError::NotUtf8)?;
        Ok(Opened {
            secret,
            stale: owner_only || sealed.key_version != self.current_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFRESH: &str = "google_credentials.refresh_token";
    const ACCESS: &str = "google_credentials.access_token";

    fn cipher(version: i32, key: &EncryptionKey) -> TokenCipher {
        TokenCipher::new(version, key.clone(), BTreeMap::new())
    }

    fn bind<'a>(owner: &'a [u8], field: &'static str) -> Binding<'a> {
        Binding { owner, field }
    }

    #[test]
    fn seal_then_open_round_trips() {
        let c = cipher(1, &EncryptionKey::random());
        let sealed = c
            .seal(bind(b"user-a", REFRESH), "1//refresh-token")
            .unwrap();
        assert_eq!(sealed.key_version, 1);
        assert!(!sealed.ciphertext.windows(7).any(|w| w == b"refresh"));
        let opened = c.open(bind(b"user-a", REFRESH), &sealed).unwrap();
        assert_eq!(opened.secret(), "1//refresh-token");
        assert!(!opened.is_stale());
        assert!(!format!("{opened:?}").contains("refresh-token"));
    }

    #[test]
    fn another_owner_cannot_open() {
        let c = cipher(1, &EncryptionKey::random());
        let sealed = c.seal(bind(b"user-a", REFRESH), "secret").unwrap();
        assert!(matches!(
            c.open(bind(b"user-b", REFRESH), &sealed),
            Err(CryptoError::Open)
        ));
    }

    #[test]
    fn a_value_moved_to_the_other_field_does_not_open() {
        let c = cipher(1, &EncryptionKey::random());
        let refresh = c.seal(bind(b"u", REFRESH), "1//refresh").unwrap();
        let access = c.seal(bind(b"u", ACCESS), "ya29.access").unwrap();
        assert!(matches!(
            c.open(bind(b"u", ACCESS), &refresh),
            Err(CryptoError::Open)
        ));
        assert!(matches!(
            c.open(bind(b"u", REFRESH), &access),
            Err(CryptoError::Open)
        ));
    }

    #[test]
    fn a_value_relabelled_with_another_key_version_does_not_open() {
        // Even where two versions hold the same key bytes.
        let key = EncryptionKey::random();
        let c = TokenCipher::new(2, key.clone(), BTreeMap::from([(1, key)]));
        let mut sealed = c.seal(bind(b"u", REFRESH), "secret").unwrap();
        sealed.key_version = 1;
        assert!(matches!(
            c.open(bind(b"u", REFRESH), &sealed),
            Err(CryptoError::Open)
        ));
    }

    #[test]
    fn owner_only_values_of_older_releases_open_as_stale() {
        let c = cipher(1, &EncryptionKey::random());
        let legacy = c.seal_owner_only(b"u", "1//legacy").unwrap();
        let opened = c.open(bind(b"u", REFRESH), &legacy).unwrap();
        assert_eq!(opened.secret(), "1//legacy");
        assert!(opened.is_stale());
        assert!(matches!(
            c.open(bind(b"v", REFRESH), &legacy),
            Err(CryptoError::Open)
        ));
    }

    #[test]
    fn rotated_key_still_opens_old_rows_as_stale_and_seals_with_new_version() {
        let old = EncryptionKey::random();
        let sealed_v1 = cipher(1, &old).seal(bind(b"u", REFRESH), "secret").unwrap();
        let rotated = TokenCipher::new(2, EncryptionKey::random(), BTreeMap::from([(1, old)]));
        let opened = rotated.open(bind(b"u", REFRESH), &sealed_v1).unwrap();
        assert_eq!(opened.secret(), "secret");
        assert!(opened.is_stale());
        let resealed = rotated.seal(bind(b"u", REFRESH), "secret").unwrap();
        assert_eq!(resealed.key_version, 2);
        assert!(
            !rotated
                .open(bind(b"u", REFRESH), &resealed)
                .unwrap()
                .is_stale()
        );
    }

    #[test]
    fn unknown_version_is_reported() {
        let sealed = cipher(7, &EncryptionKey::random())
            .seal(bind(b"u", REFRESH), "s")
            .unwrap();
        let other = cipher(1, &EncryptionKey::random());
        assert!(matches!(
            other.open(bind(b"u", REFRESH), &sealed),
            Err(CryptoError::UnknownKeyVersion(7))
        ));
    }
}
