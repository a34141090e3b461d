//! Sealing of secrets stored in PostgreSQL (Google refresh and access tokens).

mod token_cipher;

pub use token_cipher::{Binding, CryptoError, EncryptionKey, Opened, Sealed, TokenCipher};
