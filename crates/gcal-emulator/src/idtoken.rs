//! The id_token: a JWT signed RS256, as Google signs them, with a published test key whose
//! public half the emulator serves as a JWKS (its stand-in for
//! `https://www.googleapis.com/oauth2/v3/certs`). The key is fixed (it ships in the crate), so
//! tokens verify across restarts of a standalone emulator.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::rsa::PublicKeyComponents;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};

const KEY_PEM: &str = include_str!("keys/id-token-test-key.pem");

/// Signs id_tokens and describes its public key.
pub struct IdTokenSigner {
    key: RsaKeyPair,
    kid: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for IdTokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl IdTokenSigner {
    /// Loads the built-in test key.
    pub fn new() -> Result<Self, String> {
        let b64: String = KEY_PEM
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN PRIVATE KEY-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        let der = STANDARD
            .decode(b64)
            .map_err(|e| format!("id_token key: {e}"))?;
        let key = RsaKeyPair::from_pkcs8(&der).map_err(|e| format!("id_token key: {e}"))?;
        let public: PublicKeyComponents<Vec<u8>> = key.public().into();
        let digest = ring::digest::digest(&ring::digest::SHA256, &public.n);
        let kid = digest.as_ref()[..20]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            key,
            kid,
            rng: SystemRandom::new(),
        })
    }

    /// A compact JWS of `claims`.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, input.as_bytes(), &mut sig)
            .map_err(|e| format!("signing the id_token: {e}"))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// The JWKS document (`{"keys": [...]}`).
    pub fn jwks(&self) -> Value {
        let public: PublicKeyComponents<Vec<u8>> = self.key.public().into();
        json!({"keys": [{
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        }]})
    }
}

/// `at_hash`: the left half of the SHA-256 of the access token, base64url (OpenID Connect
/// Core 3.1.3.6).
pub fn at_hash(access_token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_with_the_published_key() {
        let signer = IdTokenSigner::new().unwrap();
        let jwt = signer.sign(&json!({"sub": "1"})).unwrap();
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let jwks = signer.jwks();
        let n = URL_SAFE_NO_PAD
            .decode(jwks["keys"][0]["n"].as_str().unwrap())
            .unwrap();
        let e = URL_SAFE_NO_PAD
            .decode(jwks["keys"][0]["e"].as_str().unwrap())
            .unwrap();
        let public = ring::signature::RsaPublicKeyComponents { n, e };
        public
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                input.as_bytes(),
                &URL_SAFE_NO_PAD.decode(sig).unwrap(),
            )
            .unwrap();
    }
}
