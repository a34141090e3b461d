//! The case tracker's bearer tokens: compact JWTs signed HS256 with `JWT_SECRET`, `sub` = the
//! `perm_users` id, `exp` required, `aud` / `iss` checked when configured.
//!
//! The verifier accepts exactly one header shape (`alg: HS256`): `none`, RS256 and every other
//! algorithm are refused before any key is used, so no algorithm confusion is possible. The
//! signature is checked in constant time (`hmac`'s `verify_slice`) before the claims are read.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::Sha256;

use super::{ApiError, AppState};
use crate::config::AuthConfig;
use crate::ids::UserId;

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: i64 = 30;

/// Why a token was refused (never shown to the caller: every case answers the same 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("not a compact JWT")]
    Malformed,
    #[error("algorithm {0:?} is not accepted (HS256 only)")]
    Algorithm(String),
    #[error("bad signature")]
    Signature,
    #[error("expired or missing exp")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
    #[error("wrong audience")]
    Audience,
    #[error("wrong issuer")]
    Issuer,
    #[error("sub is not a user id")]
    Subject,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: Option<i64>,
    nbf: Option<i64>,
    iss: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            Self::One(a) => a == wanted,
            Self::Many(all) => all.iter().any(|a| a == wanted),
        }
    }
}

/// Checks `token` against `config` at `now` (epoch seconds); returns the user it names.
pub fn verify(config: &AuthConfig, token: &str, now: i64) -> Result<UserId, TokenError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Header = decode_json(header_b64)?;
    if header.alg != "HS256" {
        return Err(TokenError::Algorithm(header.alg));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| TokenError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(config.jwt_secret.expose_secret().as_bytes())
        .map_err(|_| TokenError::Signature)?;
    mac.update(header_b64.as_bytes());
    mac.update(b".");
    mac.update(claims_b64.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::Signature)?;
    let claims: Claims = decode_json(claims_b64)?;
    match claims.exp {
        Some(exp) if exp + LEEWAY_SECS > now => {}
        _ => return Err(TokenError::Expired),
    }
    if claims.nbf.is_some_and(|nbf| nbf - LEEWAY_SECS > now) {
        return Err(TokenError::NotYetValid);
    }
    if let Some(wanted) = &config.audience
        && !claims.aud.as_ref().is_some_and(|a| a.contains(wanted))
    {
        return Err(TokenError::Audience);
    }
    if let Some(wanted) = &config.issuer
        && claims.iss.as_deref() != Some(wanted.as_str())
    {
        return Err(TokenError::Issuer);
    }
    claims
        .sub
        .parse::<uuid::Uuid>()
        .map(UserId)
        .map_err(|_| TokenError::Subject)
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// Signs `claims` HS256 with `secret` (the tracker's side; tests and `scripts/dev` use it).
pub fn sign(secret: &str, claims: &serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{body}");
    #[expect(clippy::expect_used, reason = "HMAC takes keys of any length")]
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// The signed-in user of a request: an extractor that answers 401 JSON on any bad token.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub UserId);

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(ApiError::Unauthorized)?;
    let connect = state.connect.as_ref().ok_or(ApiError::Unauthorized)?;
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    match verify(&connect.auth, token.trim(), chrono::Utc::now().timestamp()) {
        Ok(user) => Ok(AuthUser(user)),
        Err(e) => {
            log::debug!("refused a user token: {e}");
            Err(ApiError::Unauthorized)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn config() -> AuthConfig {
        AuthConfig::with_secret(SECRET)
    }

    #[test]
    fn a_signed_token_names_its_user_and_tampering_is_refused() {
        let user = uuid::Uuid::new_v4();
        let token = sign(SECRET, &serde_json::json!({"sub": user, "exp": 2_000}));
        assert_eq!(verify(&config(), &token, 1_000), Ok(UserId(user)));
        assert_eq!(verify(&config(), &token, 3_000), Err(TokenError::Expired));
        let other = sign(
            "another-secret-another-secret-xx",
            &serde_json::json!({"sub": user, "exp": 2_000}),
        );
        assert_eq!(verify(&config(), &other, 1_000), Err(TokenError::Signature));
        let no_exp = sign(SECRET, &serde_json::json!({"sub": user}));
        assert_eq!(verify(&config(), &no_exp, 1_000), Err(TokenError::Expired));
    }

    #[test]
    fn audience_and_issuer_are_checked_when_configured() {
        let user = uuid::Uuid::new_v4();
        let mut c = config();
        c.audience = Some("authenticated".into());
        c.issuer = Some("https://tracker.example/auth/v1".into());
        let good = sign(
            SECRET,
            &serde_json::json!({"sub": user, "exp": 2_000,
            "aud": "authenticated", "iss": "https://tracker.example/auth/v1"}),
        );
        assert!(verify(&c, &good, 1_000).is_ok());
        let wrong_aud = sign(
            SECRET,
            &serde_json::json!({"sub": user, "exp": 2_000,
            "aud": ["anon"], "iss": "https://tracker.example/auth/v1"}),
        );
        assert_eq!(verify(&c, &wrong_aud, 1_000), Err(TokenError::Audience));
        let no_iss = sign(
            SECRET,
            &serde_json::json!({"sub": user, "exp": 2_000, "aud": "authenticated"}),
        );
        assert_eq!(verify(&c, &no_iss, 1_000), Err(TokenError::Issuer));
    }
}
