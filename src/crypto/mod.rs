//! Sealing of secrets stored in PostgreSQL (Google refresh and access tokens).

mod token_cipher;

pub use token_cipher::{CryptoError, EncryptionKey, Sealed, TokenCipher};
